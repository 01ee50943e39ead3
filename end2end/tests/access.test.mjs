// Signing in and out, what each console role sees, the server refusing what the UI hides, the
// first-run flow, and tokens shown once — in Chromium, under the console's CSP.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn, startApp } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 40 });

test('sign in, see the console, sign out', async () => {
  const page = await newPage(ctx.browser);
  await page.goto(`${ctx.app.base}/identities?kind=ci_bot`);
  await page.waitForURL(/\/sign-in\?next=/);
  await hydrated(page);

  await page.fill('#email', DEMO.auditor[0]);
  await page.fill('#password', 'not the password');
  await page.click('#sign-in-form button[type="submit"]');
  await page.waitForSelector('.notice-error:has-text("E-mail or password is not correct")');

  await page.fill('#password', DEMO.auditor[1]);
  await page.click('#sign-in-form button[type="submit"]');
  await page.waitForURL(/\/identities\?kind=ci_bot$/);
  await page.waitForSelector('.operator-name:has-text("Aud Auditor")');
  await page.waitForSelector('#identities-table');
  // Signing out before the page has hydrated posts the form without the app (a loaded machine
  // gets there first), which signs out too but lands on the sign-in page with `?next=`.
  await hydrated(page);

  await page.click('.sign-out button');
  await page.waitForURL(/\/sign-in$/);
  await page.goto(`${ctx.app.base}/identities`);
  await page.waitForURL(/\/sign-in\?next=/);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a viewer sees no edit controls, and the server refuses a forced edit', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.viewer);
  await page.goto(`${ctx.app.base}/identities`);
  await hydrated(page);
  assert.equal(await page.locator('a:has-text("New identity")').count(), 0);
  await page.locator('#identities-table tbody tr a.strong').first().click();
  await page.waitForSelector('h2:has-text("Credentials")');
  for (const control of ['a:has-text("Edit")', 'summary:has-text("Suspend")', 'summary:has-text("Retire")', 'summary:has-text("Register credential")']) {
    assert.equal(await page.locator(control).count(), 0, `${control} is hidden from a viewer`);
  }
  assert.equal(await page.locator('nav a:has-text("Operators")').count(), 0);

  // Forced: the viewer's own session and CSRF token, a hand-made call to the create function.
  const status = await page.evaluate(async () => {
    const session = await (await fetch('/rpc/auth/session', { method: 'POST' })).json();
    const body = new URLSearchParams({ name: 'forced-edit', kind: 'workload', owner_id: 'x', description: '', labels: '', _csrf: session.csrf_token });
    const response = await fetch('/rpc/identities/create', { method: 'POST', body, headers: { Accept: 'application/json' } });
    return response.status;
  });
  assert.equal(status, 403);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a page the roles do not allow says so, hydrates and shows none of its data', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.viewer);
  for (const path of ['/settings/policy', '/audit', '/exports', '/identities/new']) {
    const response = await page.goto(`${ctx.app.base}${path}`);
    assert.equal(response.status(), 403, path);
    await hydrated(page);
    await page.waitForSelector('#forbidden');
    assert.match(await page.locator('#forbidden').textContent(), /Your console roles do not allow this page/);
    assert.equal(await page.locator('main table, main form').count(), 0, `${path} renders none of its data or forms`);
    // Client-side navigation from there works as usual.
    await page.click('nav a:has-text("Identities")');
    await page.waitForSelector('#identities-table');
  }
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('an admin creates a pipeline token and sees its secret exactly once', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.admin);
  await page.click('nav a:has-text("Pipeline tokens")');
  await page.waitForSelector('#token-form');
  await page.fill('#token-name', 'browser test pipeline');
  await page.selectOption('#token-owner', { index: 1 });
  await page.check('#token-scope_read');
  await page.check('#token-scope_provision');
  await page.click('#token-form button[type="submit"]');
  await page.waitForSelector('#one-time-secret');
  const secret = (await page.locator('#one-time-secret').textContent()).trim();
  assert.match(secret, /^nhidb_[a-z2-7]{40,}$/);
  await page.waitForSelector('#tokens-table td:has-text("browser test pipeline")');

  const whoami = await fetch(`${ctx.app.base}/api/v1/whoami`, { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(whoami.status, 200);

  await page.reload();
  await hydrated(page);
  assert.equal(await page.locator('#one-time-secret').count(), 0);
  assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('first run: the printed link creates the first admin', async () => {
  const fresh = await startApp({ seed: false });
  try {
    let link;
    for (let i = 0; i < 50 && !link; i++) {
      link = fresh.output().match(/(http:\/\/\S+\/bootstrap\?token=[a-z2-7]+)/)?.[1];
      if (!link) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(link, `nhidb serve printed a first-run link: ${fresh.output()}`);
    const page = await newPage(ctx.browser);
    await page.goto(link);
    await hydrated(page);
    await page.fill('#name', 'First Admin');
    await page.fill('#email', 'first@example.com');
    await page.fill('#password', 'a long first password');
    await page.fill('#confirm', 'a long first password');
    await page.click('#bootstrap-form button[type="submit"]');
    await page.waitForSelector('.operator-name:has-text("First Admin")');
    await page.waitForSelector('nav a:has-text("Operators")');

    await page.goto(link);
    await hydrated(page);
    await page.waitForSelector('text=expired or was already used');
    assert.deepEqual(page.problems, []);
    await page.close();
  } finally {
    await fresh.stop();
  }
});
