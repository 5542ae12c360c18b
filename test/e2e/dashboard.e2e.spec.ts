import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { EdgeAgent } from '@hotswap/edge-agent';
import { makeAddModel, makeSlowModel } from '@hotswap/infrastructure/testing';
import { startE2eStack, type E2eStack } from './support/e2e-stack.js';

// The operator dashboard in headless Chromium against the whole control plane: four real edge
// agents under load, a canary of a slower model that the monitor rolls back by itself, followed
// live in the page. Screenshots go to test-artifacts/dashboard/.

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const DEVICES = ['dash-1', 'dash-2', 'dash-3', 'dash-4'];
/** Same shapes as the rollout-strategies suite: the slow model chains SIZE×SIZE MatMuls. */
const SIZE = 256;

let stack: E2eStack;
let agents: EdgeAgent[];
let browser: Browser;
let loadRunning = true;
let load: Promise<void>;
let canaryId: string;
const contexts: BrowserContext[] = [];

/** ~40 inferences/s per device, so the monitor has samples. */
async function serveLoad(agent: EdgeAgent): Promise<void> {
  const x = new ort.Tensor('float32', new Float32Array(SIZE), [1, SIZE]);
  while (loadRunning) {
    await agent.infer({ x }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A fresh browser profile (its own sessionStorage) on the dashboard; page errors and console errors are collected. */
async function openDashboard(fragment = ''): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
  await page.goto(`${stack.controlPlane.url}/${fragment}`);
  return { page, problems };
}

const screenshot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  stack = await startE2eStack('dashboard', {
    // As in the rollout-strategies canary: compressed detection; the slow model is several times slower.
    monitor: { detectionIntervalMs: 300, minSamples: 100, maxLatencyIncrease: 0.5, detectionWindowMs: 10_000, baselineWindowMs: 10_000 },
  });
  agents = DEVICES.map((id, i) => stack.makeAgent(id, i, 'dashboard'));
  await Promise.all(agents.map((a) => a.start()));
  await stack.waitForDevices('dashboard', DEVICES.length);
  load = Promise.all(agents.map(serveLoad)).then(() => undefined);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  loadRunning = false;
  await load;
  await stack?.close();
}, 60_000);

describe('the operator dashboard at /', () => {
  it('shows the fleet and the models, and follows a canary of the slower model live until it rolls back by itself', async () => {
    expect((await stack.upload('dash', '1.0.0', makeAddModel({ addend: 1, shape: [1, SIZE] }))).status).toBe(202);
    expect((await stack.upload('dash', '2.0.0', makeSlowModel({ addend: 1, size: SIZE, depth: 256 }))).status).toBe(202);
    await stack.waitForValidated('dash-1.0.0');
    await stack.waitForValidated('dash-2.0.0');
    const baseline = await stack.api('/api/v1/distributions', { method: 'POST', body: JSON.stringify({ modelId: 'dash-1.0.0', strategy: 'Direct', targetDevices: DEVICES }) });
    expect((await stack.waitForStatus(baseline.body.id, ['Succeeded', 'Failed', 'RolledBack'], 30_000)).status).toBe('Succeeded');

    const { page, problems } = await openDashboard(`#token=${await stack.token(['Admin'])}`);
    // The token leaves the address bar at once (it would otherwise sit in the history).
    expect(page.url()).not.toContain('token=');
    await expect(page.locator('#user-name').textContent()).resolves.toBe('e2e-admin');
    // Fleet by region, status and model: us-west-1 has dash-1, eu-central-1 the rest, all on v1.
    await page.locator('[data-region="eu-central-1"]', { hasText: 'dash-1.0.0 ×3' }).waitFor();
    await expect(page.locator('[data-region="us-west-1"]').textContent()).resolves.toContain('dash-1.0.0 ×1');
    await expect(page.locator('.device[data-device]').count()).resolves.toBe(4);
    // Models with their validation reports: both passed the gate.
    for (const id of ['dash-1.0.0', 'dash-2.0.0']) {
      await page.locator(`[data-model="${id}"]`, { hasText: /✓ \d+\/\d+ checks/ }).waitFor();
      await expect(page.locator(`[data-model="${id}"] [data-status]`).getAttribute('data-status')).resolves.toBe('Validated');
    }
    await expect(page.locator('#banner').isHidden()).resolves.toBe(true);
    await screenshot(page, '01-fleet-and-models');

    const created = await stack.api('/api/v1/distributions', {
      method: 'POST',
      body: JSON.stringify({
        modelId: 'dash-2.0.0', strategy: 'Canary', targetDevices: DEVICES, canaryPercentage: 25, canaryDuration: 'PT2M',
        rollbackPolicy: 'Automatic', execution: { healthWindow: 'PT1S', minHealthSamples: 5 },
      }),
    });
    expect(created.status).toBe(202);
    canaryId = created.body.id as string;

    // The list picks it up on its next refresh; selecting it opens the live stream.
    await page.locator(`[data-distribution="${canaryId}"]`).click();
    // Live, or already finished on a fast machine (the stream then ends by itself).
    await page.locator('#live-state:is([data-live="live"], [data-live="ended"])').waitFor();
    await expect(page.locator('#detail-status').getAttribute('data-status')).resolves.toMatch(/^(Running|RollingBack|RolledBack)$/);
    // The canary wave's device is updated and the new model's figures reach the p99 chart.
    await page.locator('[data-chart="p99 latency (ms)"] circle').first().waitFor();
    await screenshot(page, '02-canary-live');

    // No reload from here on: the status arrives over the event stream.
    await page.locator('#detail-status[data-status="RolledBack"]').waitFor({ timeout: 60_000 });
    await expect(page.locator('#degradation').getAttribute('data-trigger')).resolves.toBe('latency');
    await expect(page.locator('#degradation').textContent()).resolves.toMatch(/p99 latency .* on canary is \d+% above/);
    // The rollback trigger is marked on the charts with data; the devices report no labels, so no accuracy.
    await expect(page.locator('[data-chart="p99 latency (ms)"] .marker').textContent()).resolves.toBe('rollback trigger · latency');
    await expect(page.locator('[data-chart="Error rate (%)"] .marker').count()).resolves.toBe(1);
    await expect(page.locator('[data-chart="Accuracy (%)"] .chart-empty').textContent()).resolves.toBe('no labelled inferences reported');
    // The canary and the control group both have points (a line once a series has two: not always, a rollback can come first).
    await expect(page.locator('[data-chart="p99 latency (ms)"] circle').count()).resolves.toBeGreaterThanOrEqual(2);
    await page.locator('#live-state[data-live="ended"]').waitFor();
    await expect(page.locator(`[data-distribution="${canaryId}"] [data-status]`).getAttribute('data-status')).resolves.toBe('RolledBack');
    // An Admin sees every operator verb; after the rollback only those the status still allows are enabled.
    await expect(page.locator('#operator-actions [data-verb]').evaluateAll((buttons) =>
      buttons.map((b) => [b.getAttribute('data-verb'), b.hasAttribute('disabled')]))).resolves.toEqual([
      ['pause', true], ['resume', true], ['approve', true], ['promote', true], ['cancel', true], ['rollback', true],
    ]);
    await expect(page.locator('#banner').isHidden()).resolves.toBe(true);
    await screenshot(page, '03-canary-rolled-back');

    const final = (await stack.api(`/api/v1/distributions/${canaryId}/status`)).body;
    expect(final).toMatchObject({ status: 'RolledBack', degradation: { trigger: 'latency' } });
    expect(problems).toEqual([]);
  }, 120_000);

  it('shows a Viewer the distribution without any operator button', async () => {
    const { page, problems } = await openDashboard(`#token=${await stack.token(['Viewer'])}&distribution=${canaryId}`);
    await page.locator('#detail-status[data-status="RolledBack"]').waitFor();
    await expect(page.locator('#user-roles').textContent()).resolves.toBe('Viewer');
    await expect(page.locator('[data-verb]').count()).resolves.toBe(0);
    await expect(page.locator('#operator-actions').count()).resolves.toBe(0);
    await screenshot(page, '04-viewer');
    expect(problems).toEqual([]);
  }, 30_000);

  it('asks for a token, explains one that is not a JWT, and returns to the form when the gateway refuses one', async () => {
    const { page } = await openDashboard();
    await page.locator('#sign-in').waitFor();
    await page.locator('#token-input').fill('not-a-token');
    await page.locator('#sign-in-form button[type="submit"]').click();
    await expect(page.locator('#sign-in-error').textContent()).resolves.toBe('this is not a JWT (expected three dot-separated parts)');
    await screenshot(page, '05-sign-in');

    // Well-formed, but signed with another key: the page cannot tell; the gateway's 401 sends it back.
    const [header, payload] = (await stack.token(['Operator'])).split('.');
    await page.locator('#token-input').fill(`${header}.${payload}.${'A'.repeat(43)}`);
    await page.locator('#sign-in-form button[type="submit"]').click();
    await page.locator('#sign-in-error', { hasText: 'The gateway refused the token' }).waitFor();
    await expect(page.locator('#app').isHidden()).resolves.toBe(true);
  }, 30_000);
});
