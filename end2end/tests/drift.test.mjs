// Drift as a platform engineer and a reviewer meet it: a cluster is imported from the command
// line (the fixture, then the same cluster after `kubectl edit clusterrole pod-reader` added
// pods/log). Its Sources page lists the change as *changed outside review*; the finding shows the
// rule diff, the requester acknowledges it through a change request, and a second person
// approves it, which closes the finding and records who accepted it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 20 });
const fixture = (name) => fileURLToPath(new URL(`../../tests/fixtures/import/kubernetes/${name}`, import.meta.url));

test('a role changed outside review is found, diffed, and acknowledged through a reviewed change request', async () => {
  for (const file of ['list.yaml', 'changed.yaml']) {
    const { stdout } = await ctx.app.nhidb('import', 'kubernetes', '--cluster', 'e2e-cluster', '--owner', 'platform-team', fixture(file));
    assert.match(stdout, /changed:/, stdout);
  }

  const requester = await newPage(ctx.browser);
  await signIn(requester, ctx.app.base, DEMO.requester);
  await requester.click('nav a:has-text("Sources")');
  await requester.waitForSelector('#sources-table');
  await hydrated(requester);
  const row = requester.locator('#sources-table tbody tr', { hasText: 'e2e-cluster' });
  assert.ok(Number(await row.locator('td').last().textContent()) > 0, 'the source has open drift');
  await row.locator('a:has-text("e2e-cluster")').click();
  await requester.waitForSelector('#drift-table');
  await hydrated(requester);
  assert.match(await requester.locator('#drift-count').textContent(), /^1 changed outside review · \d+ unreviewed access · 3 dangling binding/);
  const finding = requester.locator('#drift-table tbody tr', { hasText: 'Changed outside review' });
  assert.equal(await finding.count(), 1);
  await finding.locator('a:has-text("k8s-e2e-cluster-pod-reader v2")').click();

  // The finding: what changed in the cluster, as a diff.
  await requester.waitForSelector('#drift-diff');
  await hydrated(requester);
  const diff = await requester.locator('#drift-diff').textContent();
  assert.match(diff, /v1 → v2/);
  assert.match(diff, /pods\/log/);
  const drift = requester.url();

  // Acknowledging files a change request; an empty reason is refused first, losing nothing.
  await requester.fill('#acknowledge-reason', 'ok');
  await requester.click('#acknowledge-form button[type="submit"]');
  await requester.waitForSelector('#acknowledge-form .field-error, #acknowledge-form .form-error');
  assert.equal(await requester.inputValue('#acknowledge-reason'), 'ok');
  await requester.fill('#acknowledge-reason', 'Log access for the on-call runbook; agreed with the platform team.');
  await requester.click('#acknowledge-form button[type="submit"]');
  await requester.waitForURL(/\/approvals\/[0-9A-Z]+$/);
  await requester.waitForSelector('#policy-status');
  await hydrated(requester);
  const approval = requester.url();
  assert.match(await requester.locator('h1').textContent(), /Acknowledge drift: k8s-e2e-cluster-pod-reader v2/);
  assert.match(await requester.locator('body').textContent(), /pods\/log/);
  // Still open until someone else approves it.
  await requester.goto(drift);
  await requester.waitForSelector('#drift-outcome');
  await hydrated(requester);
  assert.match(await requester.locator('#drift-outcome').textContent(), /Acknowledging it is requested/);
  assert.equal(await requester.locator('#acknowledge-form').count(), 0);

  // A second person approves it.
  const approver = await newPage(ctx.browser);
  await signIn(approver, ctx.app.base, DEMO.approver);
  await approver.goto(approval);
  await approver.waitForSelector('#decide-form');
  await hydrated(approver);
  assert.match(await approver.locator('body').textContent(), /pods\/log/);
  await approver.click('#decide-form button[value="approve"]');
  await approver.waitForFunction(() => /Applied/.test(document.querySelector('.status-bar')?.textContent ?? ''));
  assert.deepEqual(approver.problems, []);
  await approver.close();

  // The finding is closed, naming who accepted it; the source lists it no more.
  await requester.goto(drift);
  await requester.waitForSelector('#drift-outcome');
  await hydrated(requester);
  assert.match(await requester.locator('#drift-outcome').textContent(), /Acknowledged by .+ through its change request/);
  await requester.click('dl a:has-text("e2e-cluster")');
  await requester.waitForSelector('#drift-count');
  await hydrated(requester);
  assert.match(await requester.locator('#drift-count').textContent(), /^0 changed outside review/);
  assert.equal(await requester.locator('#drift-table tbody tr', { hasText: 'Changed outside review' }).count(), 0);
  assert.deepEqual(requester.problems, []);
  await requester.close();
});
