// The identities workflow in a real browser: list, filter, create through the form, find it,
// open it, suspend it, register a credential — after hydration, so the client side is exercised.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser();

test('filter by kind, create an identity, find it, open it, suspend it', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.requester);
  await page.goto(`${ctx.app.base}/identities`);
  await hydrated(page);
  assert.match(await page.locator('h1').textContent(), /Identities/);
  const allRows = await page.locator('#identities-table tbody tr').count();
  assert.ok(allRows > 10, `the seeded list shows identities (${allRows})`);

  // Filter by kind through the form: client-side navigation, URL carries the filter.
  await page.selectOption('select[name="kind"]', 'ci_bot');
  await page.click('button:has-text("Apply filters")');
  await page.waitForURL(/kind=ci_bot/);
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#identities-table tbody tr')].length > 0 &&
    [...document.querySelectorAll('#identities-table tbody tr td:nth-child(2)')].every((td) => td.textContent.trim() === 'CI bot'),
  );

  // Create through the form.
  await page.click('a:has-text("New identity")');
  await page.waitForURL(/\/identities\/new$/);
  await page.waitForSelector('#identity-form');
  await page.fill('#identity-name', 'e2e-deploy-bot');
  await page.selectOption('#identity-kind', 'ci_bot');
  await page.selectOption('#identity-owner', { index: 1 });
  await page.selectOption('#identity-service', { index: 1 });
  await page.fill('#identity-labels', 'team=e2e, env=test');
  await page.fill('#identity-description', 'Created by the browser test');
  await page.click('button:has-text("Create identity")');
  await page.waitForURL(/\/identities\/[0-9A-Z]{26}$/);
  await page.waitForSelector('h1:has-text("e2e-deploy-bot")');
  const createdUrl = page.url();

  // It is listed, and opens from the list.
  await page.goto(`${ctx.app.base}/identities?q=e2e-deploy`);
  await hydrated(page);
  const row = page.locator('#identities-table tbody tr', { hasText: 'e2e-deploy-bot' });
  assert.equal(await row.count(), 1);
  await row.locator('a', { hasText: 'e2e-deploy-bot' }).click();
  await page.waitForURL(createdUrl);
  await page.waitForSelector('h1:has-text("e2e-deploy-bot")');
  assert.equal(await page.locator('.status-bar .badge').first().textContent(), 'Active');

  // Suspend it with a reason; the page updates in place and the history records it.
  await page.click('summary:has-text("Suspend")');
  await page.fill('#suspend-reason', 'browser test suspension');
  await page.click('button:has-text("Suspend identity")');
  await page.waitForSelector('.status-bar .badge:has-text("Suspended")');
  await page.waitForSelector('.history code:has-text("identity.suspend")');
  assert.ok(await page.locator('.history', { hasText: 'browser test suspension' }).count());

  assert.deepEqual(page.problems, []);
  await page.close();
});

test('client-side navigation loads every list and page without server errors', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.viewer);
  await page.click('nav.sidenav a:has-text("Services")');
  await page.waitForSelector('#services-table');
  await page.click('#services-table tbody tr a.strong >> nth=0');
  await page.waitForSelector('h2:has-text("Identities")');
  await page.click('nav.sidenav a:has-text("Identities")');
  await page.waitForSelector('#identities-table');
  await page.click('nav.sidenav a:has-text("Overview")');
  await page.waitForSelector('.tiles');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('bad input keeps what was typed and shows the error next to the field', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.requester);
  await page.goto(`${ctx.app.base}/identities/new`);
  await hydrated(page);
  await page.fill('#identity-name', 'Not A Valid Name');
  await page.selectOption('#identity-kind', 'workload');
  await page.selectOption('#identity-owner', { index: 1 });
  await page.fill('#identity-labels', 'no-equals-sign');
  await page.click('button:has-text("Create identity")');
  await page.waitForSelector('#name-error');
  assert.match(await page.locator('#name-error').textContent(), /lower-case/);
  assert.match(await page.locator('#labels-error').textContent(), /key=value/);
  assert.equal(await page.inputValue('#identity-name'), 'Not A Valid Name');
  assert.equal(await page.inputValue('#identity-labels'), 'no-equals-sign');
  assert.match(page.url(), /\/identities\/new$/);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a pasted private key is refused as secret material', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.requester);
  await page.goto(`${ctx.app.base}/identities?status=active`);
  await hydrated(page);
  await page.locator('#identities-table tbody tr a.strong').first().click();
  await page.waitForSelector('summary:has-text("Register credential")');
  await page.click('summary:has-text("Register credential")');
  await page.selectOption('#cred-kind', 'ssh_key');
  await page.fill('#cred-fingerprint', '-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE');
  await page.click('button:has-text("Register credential")');
  await page.waitForSelector('#fingerprint-error');
  assert.match(await page.locator('#fingerprint-error').textContent(), /fingerprints only, never secrets/);

  await page.fill('#cred-fingerprint', 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8');
  await page.click('button:has-text("Register credential")');
  await page.waitForSelector('#credentials-table code[title="SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"]');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the layout holds on a narrow window', async () => {
  const page = await newPage(ctx.browser, { width: 420, height: 900 });
  await signIn(page, ctx.app.base, DEMO.viewer);
  await page.goto(`${ctx.app.base}/identities`);
  await hydrated(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scroll of the page itself (overflow ${overflow}px)`);
  assert.deepEqual(page.problems, []);
  await page.close();
});
