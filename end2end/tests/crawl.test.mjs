// A crawl of the console as each demo operator sees it: sign in, then walk breadth-first every
// same-origin link reachable from the menu (and the state filters people use), a few pages per
// kind of page. Every page must answer without an error status, hydrate, and log no console
// error or page error. Tests that open chosen records miss what breaks on the others; this one
// opens identities, services and requests in every state the demo ledger has.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 120, sources: true });

// Pages reached through filters rather than links: every state of every kind of record.
const FILTERS = [
  '/identities?status=active',
  '/identities?status=suspended',
  '/identities?status=retired',
  '/services?status=active',
  '/services?status=decommissioned',
  '/approvals?view=all&state=pending',
  '/approvals?view=all&state=applied',
  '/approvals?view=all&state=rejected',
  '/approvals?view=all&state=cancelled',
  '/approvals?view=all&state=expired',
];

// Query parameters that choose *what kind* of page this is; other values (cursors, search
// text) do not make a new kind.
const KIND_PARAMS = new Set(['status', 'state', 'view', 'kind']);
const PER_KIND = Number(process.env.CRAWL_PER_KIND || 2);
const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// The kind of a page: ids replaced by :id, kind-choosing parameters kept, the rest named only.
function kindOf(url) {
  const path = url.pathname
    .split('/')
    .map((s) => (ID.test(s) ? ':id' : s))
    .join('/');
  const params = [...url.searchParams.keys()]
    .sort()
    .map((k) => (KIND_PARAMS.has(k) ? `${k}=${url.searchParams.get(k)}` : k));
  return params.length ? `${path}?${params.join('&')}` : path;
}

function crawlable(url, base) {
  if (url.origin !== base.origin) return false;
  // Not console pages: the API and its reference, files, the bundle itself.
  return !/^\/(api|downloads|pkg)\//.test(url.pathname) && url.pathname !== '/favicon.svg';
}

async function crawl(browser, base, account) {
  const page = await newPage(browser);
  await signIn(page, base, account);
  const origin = new URL(base);
  const seen = new Set();
  const perKind = new Map();
  const queue = ['/', ...FILTERS].map((p) => ({ url: new URL(p, origin), kind: null }));
  const failures = [];
  const visited = [];
  // A page's own data loads must succeed too: a refused server function (a page whose rule is
  // looser than its loaders) shows an error notice, which is no console error.
  const refusedCalls = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/rpc/') && r.status() >= 400) refusedCalls.push(`${new URL(r.url()).pathname} answered ${r.status()}`);
  });
  while (queue.length) {
    const { url, kind: linkedKind } = queue.shift();
    const href = url.pathname + url.search;
    if (seen.has(href)) continue;
    // Records found on a filtered list are their own kind ("an identity, as listed under
    // status=retired"), so every state gets its pages opened.
    const kind = linkedKind ?? kindOf(url);
    if ((perKind.get(kind) ?? 0) >= PER_KIND) continue;
    seen.add(href);
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);

    page.problems.length = 0;
    refusedCalls.length = 0;
    const response = await page.goto(url.href, { waitUntil: 'load' });
    const status = response?.status() ?? 0;
    let hydrated = true;
    try {
      await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 });
    } catch {
      hydrated = false;
    }
    // Give a late panic or a failed load a moment to surface.
    await page.waitForTimeout(150);
    visited.push(href);
    const problems = [...page.problems, ...refusedCalls];
    if (status >= 400) problems.push(`answered ${status}`);
    if (!hydrated) problems.push('did not hydrate');
    if (new URL(page.url()).pathname === '/sign-in') problems.push('signed out');
    if (problems.length) failures.push(`${href}: ${problems.join('; ')}`);

    const filterOf = [...url.searchParams.keys()].filter((k) => k === 'status' || k === 'state').map((k) => `${k}=${url.searchParams.get(k)}`);
    const links = await page.$$eval('a[href]', (anchors) => anchors.map((a) => a.getAttribute('href')));
    for (const link of links) {
      const next = new URL(link, url);
      next.hash = '';
      if (!crawlable(next, origin) || next.pathname === '/sign-in') continue;
      const nextKind = kindOf(next);
      queue.push({ url: next, kind: filterOf.length && nextKind.includes(':id') ? `${nextKind} [${filterOf.join('&')}]` : null });
    }
  }
  await page.close();
  return { failures, visited, kinds: [...perKind.keys()] };
}

for (const [role, account] of Object.entries(DEMO)) {
  test(`every page ${role} can reach hydrates without errors`, async () => {
    const { failures, visited, kinds } = await crawl(ctx.browser, ctx.app.base, account);
    assert.deepEqual(failures, [], `${failures.length} of ${visited.length} pages failed for ${role}`);
    // The walk reached the records of every state, not only the menu.
    for (const expected of ['/identities/:id [status=suspended]', '/identities/:id [status=retired]', '/services/:id [status=decommissioned]']) {
      assert.ok(kinds.includes(expected), `${role} reached ${expected}; kinds: ${kinds.join(', ')}`);
    }
    for (const state of ['pending', 'applied', 'rejected', 'expired']) {
      assert.ok(kinds.includes(`/approvals/:id [state=${state}]`), `${role} reached a ${state} request; kinds: ${kinds.join(', ')}`);
    }
    if (role === 'admin' || role === 'auditor') {
      assert.ok(kinds.includes('/audit') && kinds.includes('/audit?before'), `${role} paged through the audit events`);
    }
    // Templates are addressed by slug, roles by id.
    assert.ok(kinds.some((k) => /^\/templates\/(?!new)[a-z]/.test(k)), `${role} reached a template`);
    for (const shape of ['/roles/:id', '/roles/:id/holders']) {
      assert.ok(kinds.some((k) => k.startsWith(shape)), `${role} reached ${shape}`);
    }
    console.log(`${role}: ${visited.length} pages, ${kinds.length} kinds`);
  });
}
