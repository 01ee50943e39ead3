// The dashboard, hygiene and the audit log in the browser: tiles and charts show the seeded
// ledger's numbers and link to the lists they count; the hygiene page lists findings with their
// actions; the audit page verifies the chain; the compliance bundle downloads and verifies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const IDENTITIES = 120;
const ctx = appAndBrowser({ identities: IDENTITIES });

const number = async (page, selector) => Number((await page.locator(selector).textContent()).replace(/[^0-9]/g, ''));

test('the dashboard shows the seeded numbers and its tiles open the filtered lists', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.viewer);
  await page.waitForSelector('#dashboard-tiles');
  await hydrated(page);
  const active = await number(page, '#tile-active .tile-value');
  const suspended = await number(page, '#tile-suspended .tile-value');
  const retired = await number(page, '#tile-retired .tile-value');
  assert.equal(active + suspended + retired, IDENTITIES, 'every seeded identity is counted once');

  // The kind chart counts identities not retired; its bars link to the kind's list.
  const kindValues = await page.locator('#chart-kinds a').evaluateAll((bars) => bars.map((a) => Number(a.getAttribute('data-value'))));
  assert.equal(kindValues.reduce((a, b) => a + b, 0), active + suspended);
  assert.ok((await page.locator('#chart-roles a').count()) > 0, 'top roles are drawn');
  assert.equal(await page.locator('#chart-expiries a').count(), 8, 'eight weeks of expiries');
  assert.ok(await page.locator('#chart-trend, #chart-trend-empty').count(), 'the findings trend (or why it is empty)');

  // Still correct after hydration: the same numbers, and a tile navigates to its filtered list.
  await page.click('#tile-active');
  await page.waitForURL(/\/identities\?status=active$/);
  await page.waitForSelector('#identities-table tbody tr');
  assert.match(await page.locator('main').textContent(), new RegExp(`${active.toLocaleString('en-US')} identit`));

  await page.goto(`${ctx.app.base}/`);
  await hydrated(page);
  const findings = await number(page, '#tile-findings .tile-value');
  await page.click('#tile-findings');
  await page.waitForURL(/\/hygiene$/);
  await page.waitForSelector('#hygiene-tiles');
  const counted = await page.locator('#hygiene-tiles a').evaluateAll((tiles) =>
    tiles.filter((t) => t.id !== 'tile-privileged_holder').map((t) => Number(t.querySelector('.tile-value').textContent.replace(/[^0-9]/g, ''))),
  );
  assert.equal(counted.reduce((a, b) => a + b, 0), findings, 'the open-findings tile adds up the reports');
});

test('a hygiene report lists findings with the action that fits and a CSV', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.viewer);
  await page.goto(`${ctx.app.base}/hygiene?kind=orphan_owner`);
  await page.waitForSelector('#hygiene-tiles');
  await hydrated(page);
  const rows = page.locator('#hygiene-report tbody tr');
  assert.ok((await rows.count()) > 0, 'the seed has identities of a disabled owner');
  assert.match(await rows.first().textContent(), /owner .* is disabled.*Retire/);
  const csv = await page.evaluate(async () => (await fetch('/downloads/hygiene/orphan_owner.csv')).text());
  assert.match(csv.split('\r\n')[0], /^kind,identity_id,identity,/);
  assert.equal(csv.trim().split('\r\n').length - 1, await number(page, '#tile-orphan_owner .tile-value'));
});

test('a conflicting pair opens findings at once, and revoking the grant behind one clears it from Hygiene and the dashboard', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.admin);
  // The demo ledger has no conflict: declare data-reader and log-writer a conflicting pair.
  await page.goto(`${ctx.app.base}/sod`);
  await hydrated(page);
  await page.click('summary:has-text("Add a conflicting role pair")');
  // The role pickers search the catalog as one types, and take the slug.
  const pick = async (field, typed, slug) => {
    await page.fill(field, typed);
    await page.waitForSelector(`${field}-choices option[value="${slug}"]`, { state: 'attached' });
    await page.fill(field, slug);
  };
  await pick('#pair-a', 'DATA-rea', 'data-reader');
  await pick('#pair-b', 'g-wri', 'log-writer');
  await page.fill('#pair-why', 'Who reads customer data must not also write the logs');
  await page.click('#sod-pair-form button[type="submit"]');
  await page.waitForSelector('#sod-rules tr:has-text("log-writer")');
  // The violations the new rule opens are listed on the page at once (read from the stored findings).
  await page.waitForSelector('#sod-violations tbody tr');

  await page.goto(`${ctx.app.base}/`);
  await hydrated(page);
  const findingsBefore = await number(page, '#tile-findings .tile-value');
  await page.goto(`${ctx.app.base}/hygiene?kind=sod_violation`);
  await page.waitForSelector('#hygiene-tiles');
  await hydrated(page);
  const sodBefore = await number(page, '#tile-sod_violation .tile-value');
  const rows = page.locator('#hygiene-report tbody tr');
  assert.ok((await rows.count()) > 0, 'holders of both roles are findings as soon as the rule exists');
  assert.equal(sodBefore, await rows.count());
  const first = rows.first();
  assert.match(await first.textContent(), /data-reader \+ log-writer/);
  const href = await first.locator('a.strong').getAttribute('href');
  const ofIdentity = await page.locator(`#hygiene-report tbody tr:has(a[href="${href}"])`).count();

  // Revoke the log-writer grant (a standard role: it takes effect at once) on the identity's page.
  await page.goto(`${ctx.app.base}${href}`);
  await hydrated(page);
  await page.waitForSelector('.notice-error:has-text("Separation-of-duty conflict")');
  const grant = page.locator('tr', { hasText: /log-writer v\d/ }).first();
  await grant.locator('summary:has-text("Revoke…")').click();
  await grant.locator('input[name="reason"]').fill('Ends a conflicting pair');
  await grant.locator('button:has-text("Revoke")').click();
  await page.waitForSelector('.notice-error:has-text("Separation-of-duty conflict")', { state: 'detached' });

  // No scheduler step in between: the report and both counts changed with the revocation.
  await page.goto(`${ctx.app.base}/hygiene?kind=sod_violation`);
  await page.waitForSelector('#hygiene-tiles');
  await hydrated(page);
  assert.equal(await page.locator(`#hygiene-report tbody tr:has(a[href="${href}"])`).count(), 0, 'the finding left the report');
  assert.equal(await number(page, '#tile-sod_violation .tile-value'), sodBefore - ofIdentity);
  const tiles = await page.locator('#hygiene-tiles a').evaluateAll((all) =>
    all.filter((t) => t.id !== 'tile-privileged_holder').map((t) => Number(t.querySelector('.tile-value').textContent.replace(/[^0-9]/g, ''))),
  );
  await page.goto(`${ctx.app.base}/`);
  await hydrated(page);
  const findingsAfter = await number(page, '#tile-findings .tile-value');
  assert.ok(findingsAfter <= findingsBefore - ofIdentity, `the dashboard count fell with it (${findingsBefore} → ${findingsAfter})`);
  assert.equal(findingsAfter, tiles.reduce((a, b) => a + b, 0), 'and still adds up the reports');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the audit page verifies the chain and filters events', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.auditor);
  await page.click('nav a:has-text("Audit log")');
  await page.waitForSelector('#chain-verified');
  assert.match(await page.locator('#chain-status').textContent(), /Verified up to sequence \d+/);
  await hydrated(page);
  await page.click('#verify-now');
  await page.waitForSelector('#chain-verified');
  await page.fill('#audit-filters input[name="action"]', 'seed');
  await page.click('#audit-filters button[type="submit"]');
  await page.waitForURL(/action=seed/);
  await page.waitForSelector('#audit-table tbody tr');
  for (const action of await page.locator('#audit-table tbody tr td:nth-child(4)').allTextContents()) {
    assert.match(action, /^seed\./);
  }
});

test('an auditor downloads the compliance bundle and it verifies offline; a viewer cannot', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.auditor);
  await page.click('nav a:has-text("Exports")');
  await page.waitForSelector('#download-export');
  await hydrated(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-export')]);
  assert.match(download.suggestedFilename(), /^nhidb-export-[0-9TZ-]+\.zip$/, 'named after when it was made');
  const dir = mkdtempSync(join(tmpdir(), 'nhidb-e2e-export-'));
  try {
    const file = join(dir, 'bundle.zip');
    await download.saveAs(file);
    // The same check an auditor runs: no server, no database.
    const { stdout } = await promisify(execFile)(process.env.NHIDB_BIN, ['export', 'verify', file]);
    // The bundle carries the signed checkpoints, its own head among them.
    assert.match(stdout, /^ok \(\d+ files, [1-9]\d* audit events verified, [1-9]\d* signed checkpoints hold \(key [0-9a-f]{16}\)\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(page.problems, []);

  // Building a bundle changes state (it is audited): a plain GET cannot start one, and a POST
  // needs the session's CSRF token and the auditor role.
  assert.equal(await page.evaluate(async () => (await fetch('/downloads/export.zip')).status), 405);
  assert.equal(await page.evaluate(async () => (await fetch('/downloads/export.zip', { method: 'POST' })).status), 403);
  const viewer = await newPage(ctx.browser);
  await signIn(viewer, ctx.app.base, DEMO.viewer);
  assert.equal(await viewer.locator('nav a:has-text("Exports")').count(), 0, 'the menu offers viewers no exports');
  const status = await viewer.evaluate(async () => {
    const session = await (await fetch('/rpc/auth/session', { method: 'POST' })).json();
    const body = new URLSearchParams({ _csrf: session.csrf_token });
    return (await fetch('/downloads/export.zip', { method: 'POST', body })).status;
  });
  assert.equal(status, 403);
});
