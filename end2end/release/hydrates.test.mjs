// The optimised release bundle (wasm-opt'd, size-optimised) hydrates and drives the client-side
// router: a broken wasm-opt produces a bundle that loads but never hydrates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 40 });

test('the release bundle is the optimised one and it hydrates', async () => {
  const wasm = await fetch(`${ctx.app.base}/pkg/nhidb.wasm`);
  assert.equal(wasm.status, 200);
  const size = (await wasm.arrayBuffer()).byteLength;
  // A size budget that tells the optimised bundle from a debug one (about 21 MB): the release
  // bundle is about 4 MB since the templates, hygiene, audit and dashboard pages were added.
  assert.ok(size < 5_000_000, `release wasm is size-optimised (${size} bytes)`);

  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.viewer);
  await page.goto(`${ctx.app.base}/identities`);
  await hydrated(page);
  await page.selectOption('select[name="status"]', 'suspended');
  await page.click('button:has-text("Apply filters")');
  await page.waitForURL(/status=suspended/);
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#identities-table tbody tr td:nth-child(3)')].every((td) => td.textContent.trim() === 'Suspended'),
  );
  await page.click('nav.sidenav a:has-text("Services")');
  await page.waitForSelector('#services-table');
  assert.deepEqual(page.problems, []);
  await page.close();
});
