// Provisioning and decommissioning from the console: a requester previews what the web-api
// template creates, provisions a service, sees its three identities, then decommissions it after
// typing its name; the service is decommissioned and its identities retired.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, appAndBrowser, hydrated, newPage, signIn } from '../support/app.mjs';

const ctx = appAndBrowser({ identities: 100 });

test('preview, provision and decommission a service from a template', async () => {
  const page = await newPage(ctx.browser);
  await signIn(page, ctx.app.base, DEMO.requester);
  await page.click('nav a:has-text("Templates")');
  await page.waitForSelector('#templates-table');
  await page.click('#templates-table a:has-text("web-api")');
  await page.waitForSelector('#template-blueprints');
  assert.equal(await page.locator('#template-blueprints tbody tr').count(), 5, 'web-api grants five roles');
  await page.click('a:has-text("Provision from this template")');
  await page.waitForSelector('#provision-form');
  await hydrated(page);
  assert.equal(await page.inputValue('#provision-template'), 'web-api');
  await page.fill('#provision-name', 'orders-e2e');
  await page.fill('#provision-env', 'staging');
  await page.selectOption('#provision-owner', { label: 'payments-team' });
  await page.click('#provision-form button[type="submit"]');
  await page.waitForSelector('#provision-plan');
  const plan = await page.locator('#provision-plan tbody tr').allTextContents();
  assert.equal(plan.length, 5);
  assert.ok(plan.some((row) => /svc-orders-e2e.*data-reader.*staging\/orders-e2e/.test(row)), plan.join(' | '));

  await page.click('#provision-confirm');
  await page.waitForURL(/\/services\/[0-9A-Z]{26}$/);
  await page.waitForSelector('#service-identities-table');
  const identities = await page.locator('#service-identities-table tbody tr').allTextContents();
  assert.equal(identities.length, 3, identities.join(' | '));

  await hydrated(page);
  await page.fill('#decommission-confirm', 'wrong-name');
  await page.click('#decommission button[type="submit"]');
  await page.waitForSelector('#decommission .field-error, #decommission [role="alert"]');
  assert.match(await page.locator('#decommission').textContent(), /Type orders-e2e to confirm/);
  await page.fill('#decommission-confirm', 'orders-e2e');
  await page.fill('#decommission-reason', 'end-to-end test');
  await page.click('#decommission button[type="submit"]');
  await page.waitForSelector('.status-bar .badge:has-text("Decommissioned")');
  assert.equal(await page.locator('#decommission').count(), 0, 'nothing left to decommission');
  const statuses = await page.locator('#service-identities-table tbody tr').allTextContents();
  for (const row of statuses) assert.match(row, /Retired/);
});
