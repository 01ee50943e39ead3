// Escalation stopped at review time: a cluster is imported where `platform/rbac-manager` may bind
// cluster-admin, and nobody may create pods in `platform` yet. A requester asks for pod-runner
// (create pods in platform) for `ci/builder` — a plain role. The review shows the path it would
// open (builder → rbac-manager → cluster-admin) with a warning; one approval is not enough; after
// the second the path appears on builder's page, drawn hop by hop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 20 });
const fixture = fileURLToPath(new URL('../../tests/fixtures/import/kubernetes/escalation.yaml', import.meta.url));

async function openIdentity(page, name) {
  await page.goto(`${ctx.app.base}/identities?q=${name}`);
  await page.waitForSelector('table');
  await hydrated(page);
  await page.click(`table a:has-text("${name}")`);
  await page.waitForSelector('#can-become');
  await hydrated(page);
}

test('a grant that opens a path to cluster-admin is shown, needs two approvals, and the path appears once applied', async () => {
  await ctx.app.nhidb('import', 'kubernetes', '--cluster', 'e2e-esc', '--owner', 'platform-team', fixture);

  const requester = await newPage(ctx.browser);
  await signIn(requester, ctx.app.base, DEMO.requester);
  // rbac-manager can already reach cluster-admin; builder cannot.
  await openIdentity(requester, 'platform.rbac-manager');
  assert.match(await requester.locator('#can-become').textContent(), /cluster-admin — 1 hop/);
  await openIdentity(requester, 'ci.builder');
  assert.equal(await requester.locator('#can-become-none').count(), 1);
  const builder = requester.url();

  // The request: a role that is not privileged itself.
  await requester.click('summary:has-text("Grant role")');
  await requester.fill('#grant-role', 'pod-runner');
  await requester.waitForSelector('#grant-role-choices option[value="k8s-e2e-esc-platform-pod-runner"]', { state: 'attached' });
  assert.match(await requester.locator('#grant-role-choices').textContent(), /k8s-e2e-esc-platform-pod-runner \(v1, k8s\/e2e-esc\/platform\)/);
  await requester.fill('#grant-role', 'k8s-e2e-esc-platform-pod-runner');
  await requester.fill('#grant-reason', 'The build runs its integration pods in platform.');
  await requester.click('#grant-form button[type="submit"]');
  await requester.waitForURL(/\/approvals\/[0-9A-Z]+$/);
  await requester.waitForSelector('#blast-radius');
  await hydrated(requester);
  const approval = requester.url();

  // The approver sees the path it would open, with the warning.
  const approver = await newPage(ctx.browser);
  await signIn(approver, ctx.app.base, DEMO.approver);
  await approver.goto(approval);
  await approver.waitForSelector('#decide-form');
  await hydrated(approver);
  // Two paths: to the binder role rbac-manager holds (one hop), and on to cluster-admin (two).
  assert.match(await approver.locator('#escalation-warning').textContent(), /Opens 2 escalation paths/);
  assert.equal(await approver.locator('#paths-opened .escalation-path').count(), 2);
  const opened = approver.locator('#paths-opened .escalation-path', { hasText: 'cluster-admin — 2 hops' });
  assert.equal(await opened.getAttribute('data-hops'), '2');
  const hops = await opened.locator('ol.hops > li').evaluateAll((items) => items.map((li) => li.dataset.rule));
  assert.deepEqual(hops, ['k8s_workloads', 'member', 'k8s_bind']);
  assert.match(await opened.textContent(), /ci\.builder[\s\S]*platform\.rbac-manager[\s\S]*cluster-admin/);
  assert.match(await opened.textContent(), /this request/);
  assert.match(await approver.locator('#blast-radius').textContent(), /2 escalation paths opened/);

  // One approval is not enough: the request is privileged now.
  await approver.click('#decide-form button[value="approve"]');
  await approver.waitForFunction(() => /1 given/.test(document.querySelector('#policy-status')?.textContent ?? ''));
  assert.match(await approver.locator('.status-bar').textContent(), /Pending/);
  assert.deepEqual(approver.problems, []);
  await approver.close();

  const second = await newPage(ctx.browser);
  await signIn(second, ctx.app.base, DEMO.approver2);
  await second.goto(approval);
  await second.waitForSelector('#decide-form');
  await hydrated(second);
  await second.click('#decide-form button[value="approve"]');
  await second.waitForFunction(() => /Applied/.test(document.querySelector('.status-bar')?.textContent ?? ''));
  assert.deepEqual(second.problems, []);
  await second.close();

  // The path is on builder's page now, drawn and in words.
  await requester.goto(builder);
  await requester.waitForSelector('#can-become');
  await hydrated(requester);
  assert.equal(await requester.locator('#can-become .escalation-path').count(), 2);
  const path = requester.locator('#can-become .escalation-path', { hasText: 'cluster-admin — 2 hops' });
  assert.equal(await path.getAttribute('data-hops'), '2');
  assert.equal(await path.locator('svg.path-drawing rect').count(), 4);
  assert.match(await path.textContent(), /k8s-e2e-esc-platform-pod-runner v1 \(grant [0-9A-Z]+\)/);

  // The ledger-wide list has them too, without waiting for the scheduler: filtered by the
  // namespace builder lives in, then by hops, and each row leads to the drawn path.
  await requester.goto(`${ctx.app.base}/escalation`);
  await requester.waitForSelector('#path-filters');
  await hydrated(requester);
  await requester.fill('#path-filters input[name="within"]', 'ci');
  await requester.fill('#path-filters input[name="source"]', 'e2e-esc');
  await requester.click('#path-filters button[type="submit"]');
  await requester.waitForURL(/within=ci/);
  await requester.waitForFunction(() => document.querySelectorAll('#escalation-paths tbody tr').length === 2);
  const rows = await requester.locator('#escalation-paths tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.dataset.target} ${tr.dataset.hops}`).sort());
  assert.deepEqual(rows, ['k8s-e2e-esc-cluster-admin 2', 'k8s-e2e-esc-platform-cluster-admin-binder 1']);
  await requester.selectOption('#path-filters select[name="max_hops"]', '1');
  await requester.click('#path-filters button[type="submit"]');
  await requester.waitForURL(/max_hops=1/);
  await requester.waitForFunction(() => document.querySelectorAll('#escalation-paths tbody tr').length === 1);
  await requester.click('#escalation-paths a:has-text("Show path")');
  await requester.waitForURL(/\/identities\/[0-9A-Z]+#can-become$/);
  await requester.waitForSelector('#can-become .escalation-path');
  // A namespace that is no name at all is refused with a clear message, not an empty list.
  await requester.goto(`${ctx.app.base}/escalation?within=${encodeURIComponent('ci%')}`);
  await requester.waitForSelector('.notice-error');
  assert.match(await requester.locator('.notice-error').first().textContent(), /letters, digits/);
  // And the hygiene report counts them (rbac-manager's own path, and builder's two).
  await requester.goto(`${ctx.app.base}/hygiene?kind=escalation_path`);
  await requester.waitForSelector('#hygiene-report');
  await hydrated(requester);
  assert.equal(await requester.locator('#tile-escalation_path .tile-value').textContent(), '3');
  assert.equal(await requester.locator('#hygiene-report tbody tr').count(), 3);
  assert.deepEqual(requester.problems, []);
  await requester.close();
});
