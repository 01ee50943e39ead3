// The assignment matrix of a demo service: a requester toggles two cells and files one change
// request; an approver sees the blast radius naming both identities and their new permissions,
// approves; the matrix then shows both grants with their pinned versions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 300 });

test('toggle two matrix cells, file them, approve, see both grants', async () => {
  const requester = await newPage(ctx.browser);
  await signIn(requester, ctx.app.base, DEMO.requester);
  await requester.click('nav a:has-text("Assignment matrix")');
  await requester.waitForSelector('#matrix-picker');
  await requester.selectOption('#matrix-picker select[name="service"]', { label: 'payments-api' });
  await requester.click('#matrix-picker button[type="submit"]');
  await requester.waitForSelector('#matrix tbody tr');
  const matrixUrl = requester.url();

  const roleId = (await requester.locator('#matrix thead a:has-text("api-invoker")').getAttribute('href')).split('/').pop();
  const empty = requester.locator(`#matrix button.cell-empty[data-role="${roleId}"]`);
  assert.ok((await empty.count()) >= 2, 'two identities of payments-api lack api-invoker');
  const picked = [];
  for (const i of [0, 1]) {
    const cell = empty.nth(i);
    picked.push(await cell.getAttribute('data-identity'));
    await cell.click();
  }
  // Keyboard: arrow keys move between cells.
  await requester.locator(`#matrix button[data-identity="${picked[1]}"][data-role="${roleId}"]`).focus();
  await requester.keyboard.press('ArrowUp');
  assert.equal(await requester.evaluate(() => document.activeElement?.dataset.row !== undefined), true);
  assert.equal(await requester.locator('#matrix button.cell-drafted').count(), 2);
  assert.match(await requester.locator('#draft-count').textContent(), /2 grant\(s\), 0 revocation/);
  await requester.fill('#draft-reason', 'Both workers call the orders API');
  await requester.click('#draft-submit');
  await requester.waitForURL(/\/approvals\/[0-9A-Z]{26}$/);
  await requester.waitForSelector('#blast-radius');
  const requestUrl = requester.url();

  const approver = await newPage(ctx.browser);
  await signIn(approver, ctx.app.base, DEMO.approver);
  await approver.goto(requestUrl);
  await hydrated(approver);
  await approver.waitForSelector('#blast-gaining');
  const gaining = await approver.locator('#blast-gaining tbody tr').allTextContents();
  assert.equal(gaining.length, 2, gaining.join(' | '));
  for (const row of gaining) assert.match(row, /api-invoker.*\+ invoke on api:\*/);
  const names = await approver.locator('#blast-gaining tbody tr td:first-child a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  assert.deepEqual(names.map((h) => h.split('/').pop()).sort(), [...picked].sort());
  await approver.click('#decide-form button[value="approve"]');
  await approver.waitForSelector('.status-bar .badge:has-text("Applied")');

  await requester.goto(matrixUrl);
  await hydrated(requester);
  for (const identity of picked) {
    const cell = requester.locator(`#matrix button[data-identity="${identity}"][data-role="${roleId}"]`);
    assert.equal(await cell.getAttribute('data-state'), 'held');
    assert.match(await cell.textContent(), /^v\d+/);
  }
  assert.deepEqual(requester.problems, []);
  assert.deepEqual(approver.problems, []);
  await requester.close();
  await approver.close();
});
