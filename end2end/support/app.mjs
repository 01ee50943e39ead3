// Starts a real nhidb server (the binary under test) on a free port with a fresh SQLite
// database seeded with demo data, and a headless Debian Chromium to drive it.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (the Makefile sets it; see README "Tests")`);
  return value;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The demo operators `nhidb seed-demo` creates (README, "Demo accounts").
export const DEMO = {
  admin: ['admin@example.com', 'nhidb-demo-admin'],
  requester: ['requester@example.com', 'nhidb-demo-requester'],
  approver: ['approver@example.com', 'nhidb-demo-approver'],
  approver2: ['approver2@example.com', 'nhidb-demo-approver2'],
  auditor: ['auditor@example.com', 'nhidb-demo-auditor'],
  viewer: ['viewer@example.com', 'nhidb-demo-viewer'],
};

export async function startApp({ identities = 80, seed = true, sources = false } = {}) {
  const bin = required('NHIDB_BIN');
  const siteRoot = required('NHIDB_SITE_ROOT');
  const dir = mkdtempSync(join(tmpdir(), 'nhidb-e2e-'));
  const env = {
    ...process.env,
    NHIDB_DATABASE_URL: `sqlite://${join(dir, 'nhidb.sqlite')}`,
    NHIDB_LOG: 'warn',
    // The audit checkpoint key and checkpoints stay with the test's database.
    NHIDB_CHECKPOINT_KEY_FILE: join(dir, 'checkpoint.key'),
    NHIDB_CHECKPOINT_DIR: join(dir, 'checkpoints'),
  };
  if (seed) await run(bin, ['seed-demo', '--identities', String(identities), '--quiet', ...(sources ? ['--sources'] : [])], { env });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--site-root', siteRoot], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`nhidb serve exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('nhidb did not become healthy within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    // What `nhidb serve` printed, e.g. the first-run link.
    output: () => stdout,
    // Runs an `nhidb` command against the same database, as an operator would beside the
    // server (an import from the command line, say); resolves to what it printed.
    async nhidb(...args) {
      return run(bin, args, { env });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// Records uncaught errors and console errors on the page: a panic in the wasm bundle, a
// hydration mismatch or a Content-Security-Policy violation shows up there, and every test
// asserts there were none.
function watch(page) {
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused submission (4xx) is logged by Chromium as a failed resource; that is the app
    // working. Server errors (5xx) and everything else count as problems.
    const refused = /Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === 'error' && !refused) page.problems.push(`console: ${m.text()}`);
  });
}

// A browser context of its own (cookies and all), as a separate person would have.
export async function newPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  watch(page);
  // Closing the page closes its context too, awaited, so nothing is left running after a test.
  page.close = () => context.close();
  return page;
}

export async function signIn(page, base, [email, password]) {
  await page.goto(`${base}/sign-in`);
  await hydrated(page);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('#sign-in-form button[type="submit"]');
  await page.waitForSelector('.operator-name');
}

export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
}

// Starts an app and a browser before the tests of a file and stops them after; the returned
// object carries `app` and `browser` once the tests run.
export function appAndBrowser(options) {
  const context = {};
  before(async () => {
    context.app = await startApp(options);
    context.browser = await launchBrowser();
  });
  after(async () => {
    await context.browser?.close();
    await context.app?.stop();
  });
  return context;
}
