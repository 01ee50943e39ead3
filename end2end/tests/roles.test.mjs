// Role definitions reviewed like code, with two people: a requester proposes a new version of
// log-writer, cannot approve it themselves (not even by forcing the call), an approver approves,
// and the role moves to v2 while its holders stay pinned to v1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 60 });

test('propose, review and approve a new version of log-writer; holders stay on v1', async () => {
  const requester = await newPage(ctx.browser);
  await signIn(requester, ctx.app.base, DEMO.requester);
  await requester.click('nav a:has-text("Roles")');
  await requester.waitForSelector('#roles-table');
  await requester.click('#roles-table a:has-text("log-writer")');
  await requester.waitForSelector('#holders-summary');
  const holdersBefore = await requester.locator('#holders-summary').textContent();
  assert.match(holdersBefore, /on v1/);
  const roleUrl = requester.url();

  await requester.click('a:has-text("Propose new version")');
  await requester.waitForSelector('#propose-version-form');
  const permissions = await requester.inputValue('#role-permissions');
  assert.equal(permissions, 'write on logs:*');
  await requester.fill('#role-permissions', `${permissions}\nupload on metrics:logs`);
  await requester.fill('#change-reason', 'Log shippers also upload their own metrics');
  await requester.click('#propose-version-form button[type="submit"]');
  await requester.waitForURL(/\/approvals\/[0-9A-Z]{26}$/);
  await requester.waitForSelector('#diff-table');
  const added = await requester.locator('#diff-table tr.diff-added').allTextContents();
  assert.equal(added.length, 1);
  assert.match(added[0], /upload.*metrics:logs/);
  assert.equal(await requester.locator('#diff-table tr.diff-removed').count(), 0);
  assert.match(await requester.locator('#policy-status').textContent(), /1 of 1 needed, 0 given/);

  // The requester is offered no approve control, and forcing the call is refused.
  assert.equal(await requester.locator('#decide-form').count(), 0);
  assert.match(await requester.locator('#cannot-decide').textContent(), /own request|approver/);
  const requestId = requester.url().split('/').pop();
  const forced = await requester.evaluate(async (id) => {
    const session = await (await fetch('/rpc/auth/session', { method: 'POST' })).json();
    const body = new URLSearchParams({ _csrf: session.csrf_token, id, verdict: 'approve', comment: '' });
    return (await fetch('/rpc/changes/decide', { method: 'POST', body, headers: { Accept: 'application/json' } })).status;
  }, requestId);
  assert.equal(forced, 403);

  // An approver finds it in their queue and approves.
  const approver = await newPage(ctx.browser);
  await signIn(approver, ctx.app.base, DEMO.approver);
  await approver.click('nav a:has-text("Approvals")');
  await approver.waitForSelector('#changes-table');
  await approver.click(`#changes-table a[href="/approvals/${requestId}"]`);
  await approver.waitForSelector('#decide-form');
  await approver.fill('#decision-comment', 'Fine: metrics about logs only');
  await approver.click('#decide-form button[value="approve"]');
  await approver.waitForSelector('.status-bar .badge:has-text("Applied")');
  await approver.waitForSelector('#decisions li:has-text("Amara Approver")');

  // The role is at v2 with its timeline; holders were not moved.
  await approver.goto(roleUrl);
  await hydrated(approver);
  await approver.waitForSelector('.badge:has-text("current v2")');
  const timeline = await approver.locator('#version-timeline li strong').allTextContents();
  assert.deepEqual(timeline, ['v2', 'v1']);
  assert.match(await approver.locator('#holders-summary').textContent(), /still on v1/);
  assert.equal(await approver.locator('#diff-table tr.diff-added').count(), 1, 'the role page diffs v1 and v2');

  // A holder's own page still shows the pinned v1, flagged as behind.
  await approver.locator('.holder-list a').first().click();
  await approver.waitForSelector('#assignments-table');
  const row = approver.locator('#assignments-table tr', { hasText: 'log-writer' });
  assert.match(await row.textContent(), /v1.*current v2/);

  assert.deepEqual(requester.problems, []);
  assert.deepEqual(approver.problems, []);
  await requester.close();
  await approver.close();
});
