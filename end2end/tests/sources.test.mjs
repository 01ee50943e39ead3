// Sources as a user meets them: the demo cluster was imported twice (the second export changed a
// ClusterRole, removed a service account and a binding, added a binding). Sources lists it with
// its last import; its page shows the import history and the bindings the cluster holds to a
// missing role or account; an imported role shows the source's rules and the version the second
// import recorded, and neither it nor an imported identity offers an edit the source would undo.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 20, sources: true });

test('the imported demo cluster: sources, its imports and dangling bindings, managed roles and identities', async () => {
  const page = await newPage(ctx.browser);
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, ctx.app.base, DEMO.requester);

  await page.click('nav a:has-text("Sources")');
  await page.waitForSelector('#sources-table');
  await hydrated(page);
  const row = await page.locator('#sources-table tbody tr').first().textContent();
  assert.match(row, /Kubernetes.*demo-cluster.*platform-team/);
  await page.click('#sources-table a:has-text("demo-cluster")');
  await page.waitForSelector('#imports-table');
  await hydrated(page);
  assert.equal(await page.locator('#imports-table tbody tr').count(), 2);
  const last = await page.locator('#last-import').textContent();
  assert.match(last, /changed: identities \+0 ~0 seen 0 retired 2; roles \+0 versions \+1/);
  const dangling = await page.locator('#dangling-table tbody tr').allTextContents();
  assert.equal(dangling.length, 3, dangling.join('\n'));
  assert.ok(dangling.some((d) => /legacy-auditor.*role missing/.test(d)), dangling.join('\n'));

  // The ClusterRole the second import changed: two versions, the source's rules, no edit.
  await page.goto(`${ctx.app.base}/roles?q=k8s-demo-cluster-pod-reader`);
  await page.waitForSelector('#roles-table');
  await page.click('#roles-table a:has-text("k8s-demo-cluster-pod-reader")');
  await page.waitForSelector('#managed-by');
  await hydrated(page);
  assert.match(await page.locator('#managed-by').textContent(), /Kubernetes demo-cluster.*ClusterRole\/pod-reader/);
  assert.match(await page.locator('.status-bar').textContent(), /current v2/);
  const rules = await page.locator('#source-rules li').allTextContents();
  assert.ok(rules.some((r) => /pods\/log/.test(r)), rules.join('\n'));
  assert.equal(await page.locator('a:has-text("Propose new version")').count(), 0);
  assert.equal(await page.locator('summary:has-text("Propose retirement")').count(), 0);

  // An imported service account: managed by the cluster, no Edit.
  await page.goto(`${ctx.app.base}/identities?q=payments.payments-api`);
  await page.waitForSelector('#identities-table');
  await page.click('#identities-table a:has-text("payments.payments-api")');
  await page.waitForSelector('#managed-by');
  await hydrated(page);
  assert.match(await page.locator('#managed-by').textContent(), /ServiceAccount\/payments\/payments-api/);
  assert.equal(await page.locator('a:has-text("Edit")').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});
