/**
 * The dashboard in a real browser against the real service: Debian's chromium driven by
 * playwright-core, the dashboard built by Vite, the API and a worker as processes (`npm run
 * start:api`, `npm run start:worker`) on a fresh database and queue prefix of the local Postgres
 * and Redis. The scenario of issue 10: sign in, upload the planar CSV by drag and drop, define the
 * network, start a job and watch its cost points arrive while it runs, see the model's accuracy
 * and confusion matrix, predict a sample, cancel a second job. axe-core checks each page (no
 * serious or critical violation), and the page must run under the API's Content-Security-Policy
 * without a violation or an uncaught error.
 *
 * Waits are on conditions (Playwright's auto-waiting and expect.poll) with generous timeouts.
 * With UPDATE_SCREENSHOTS=1 the screenshots are written to docs/images (the README shows them).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, createTenant } from '@backprop/db';
import { createTestDatabase, type TestDatabase } from '@backprop/db/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ROOT, type ServiceProcess, startService } from '../../../harness/processes.ts';
import { freePort } from '../../../harness/services.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const PLANAR = readFileSync(join(ROOT, 'data/planar_flower.csv'), 'utf8');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = process.env['UPDATE_SCREENSHOTS'] === '1' ? join(ROOT, 'docs/images') : undefined;
const LONG = 120_000;

let database: TestDatabase;
let outDir: string;
let apiKey: string;
let url: string;
let browser: Browser;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'bp-dashboard-'));
  await build({
    configFile: join(ROOT, 'apps/dashboard/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  database = await createTestDatabase();
  const tenant = await createTenant(database.db, { name: 'dashboard' });
  ({ key: apiKey } = await createApiKey(database.db, { tenantId: tenant.id, name: 'dashboard test' }));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: database.url,
    QUEUE_PREFIX: `bp-dashboard-${port}`,
    DASHBOARD_DIR: outDir,
  };
  services.push(
    startService('api', 'start:api', { ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' }),
    startService('worker', 'start:worker', {
      ...env,
      LOG_LEVEL: 'warn',
      WORKER_CONCURRENCY: '2',
      TENANT_MAX_RUNNING_JOBS: '0',
      // Cost points reach the row (and the page) every 100 ms of training, not every 500 ms.
      PROGRESS_EVERY_MS: '100',
    }),
  );
  await eventually(
    () =>
      fetch(`${url}/healthz`).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status === 200,
    60_000,
    250,
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
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
}, LONG);

afterAll(async () => {
  await browser?.close();
  await Promise.allSettled(services.map((s) => s.killHard()));
  await database?.drop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** axe-core on the page as it is: serious and critical violations, by rule and element. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}
interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: { target: string[] }[];
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true, scale: 'css' });
}

/** Drops a file on the element as a person dragging it from their desktop would. */
async function dropFile(page: Page, selector: string, name: string, text: string): Promise<void> {
  const transfer = await page.evaluateHandle(
    ([fileName, content]) => {
      const data = new DataTransfer();
      data.items.add(new File([content!], fileName!, { type: 'text/csv' }));
      return data;
    },
    [name, text],
  );
  await page.dispatchEvent(selector, 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: transfer });
}

async function api(path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json();
}

describe('the dashboard, in chromium, against the running service', () => {
  it('signs in, uploads, defines, trains live, evaluates, predicts and cancels', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of (401|404|409)/.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.setDefaultTimeout(30_000);

    // Sign in: / leads to the dashboard, served under its own strict policy.
    const response = await page.goto(`${url}/`);
    expect(response?.url()).toBe(`${url}/dashboard/`);
    const policy = response?.headers()['content-security-policy'] ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    await page.getByLabel('API key').fill('bp_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Upload the planar CSV by drag and drop: a preview of its first rows, then its statistics.
    await page.getByRole('heading', { name: 'Upload a dataset' }).waitFor();
    await dropFile(page, '[data-testid="drop-zone"]', 'planar_flower.csv', PLANAR);
    const preview = page.locator('table.preview');
    await expect.poll(() => preview.locator('thead th').allTextContents()).toEqual(['label', 'x1', 'x2']);
    expect(await preview.locator('tbody tr').count()).toBe(8);
    await page.getByLabel('Name').fill('planar');
    await screenshot(page, 'dashboard-upload.png');
    expect(await accessibilityProblems(page)).toEqual([]);
    // The browser's own network throttle (DevTools protocol) makes the upload last seconds, so
    // its progress bar, fed by XMLHttpRequest's upload events, can be seen.
    const devtools = await context.newCDPSession(page);
    const throttle = (uploadThroughput: number) =>
      devtools.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput,
      });
    await devtools.send('Network.enable');
    await throttle(6 * 1024);
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect.poll(() => page.locator('label.progress').textContent()).toMatch(/Uploaded .+ of 16\.0 KiB/);
    await throttle(-1);
    await page.getByRole('heading', { name: 'Dataset planar' }).waitFor();
    expect(await page.getByTestId('dataset-samples').textContent()).toBe('400');
    expect(await page.getByTestId('dataset-task').textContent()).toBe('binary');
    expect(await page.getByTestId('feature-stats').locator('tbody tr').count()).toBe(2);
    expect(await accessibilityProblems(page)).toEqual([]);

    // Define the network: picking the dataset fills the input size and a sigmoid output.
    await page.getByRole('link', { name: 'Define a network for it' }).click();
    await page.getByLabel('For dataset').selectOption({ label: 'planar (2 features, binary)' });
    await expect.poll(() => page.getByLabel('Input size').inputValue()).toBe('2');
    await page.getByTestId('layer').first().getByLabel('Units').fill('4');
    await expect
      .poll(() => page.getByTestId('network-summary').textContent())
      .toContain('2 → 4 → 1: 17 parameters');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create network' }).click();

    // Start a job with some options set; the rest keep the defaults the form explains.
    await page.getByRole('heading', { name: 'Start a training job' }).waitFor();
    await expect
      .poll(() => page.locator('#option-optimizer option').first().textContent())
      .toBe('default (gd)');
    expect(await page.locator('#option-l2-help').textContent()).toContain('Default: 0.');
    await page.locator('#option-learningRate').fill('1.2');
    await page.locator('#option-iterations').fill('40000');
    await page.locator('#option-costEvery').fill('250');
    await page.locator('#option-normalize').selectOption('none');
    await page.locator('#option-seed').fill('2');
    await screenshot(page, 'dashboard-new-job.png');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('button', { name: 'Start training' }).click();

    // Live: at least three cost points arrive while the job runs.
    const status = page.getByTestId('job-status');
    const points = async () => Number(await page.getByTestId('cost-chart').getAttribute('data-points'));
    await expect.poll(() => status.textContent(), { timeout: LONG }).toBe('running');
    // Pushed by the API's event stream (opened with a short-lived token, not the key, in its
    // URL) wherever the API has one; read every second otherwise.
    const jobId = page.url().split('/').at(-1)!;
    const token = await fetch(`${url}/v1/jobs/${jobId}/events/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(await page.getByTestId('job-transport').textContent()).toContain(
      token.status === 404 ? 'read every second' : 'events pushed',
    );
    const firstSeen = await points();
    await expect
      .poll(async () => ((await status.textContent()) === 'running' ? await points() : -1), {
        timeout: LONG,
        interval: 100,
      })
      .toBeGreaterThanOrEqual(firstSeen + 3);
    await expect.poll(() => page.getByTestId('job-eta').textContent()).toContain('updates/s');
    await screenshot(page, 'dashboard-job-live.png');
    expect(await accessibilityProblems(page)).toEqual([]);
    await expect.poll(() => status.textContent(), { timeout: LONG }).toBe('succeeded');
    expect(await points()).toBeGreaterThanOrEqual(161); // J_0 and one every 250 of 40000 updates

    // The model: its accuracy, an evaluation with its confusion matrix, a prediction.
    await page.getByTestId('model-link').click();
    const accuracyText = await page.getByTestId('train-accuracy').textContent();
    const trainAccuracy = Number(accuracyText?.replace(' %', ''));
    expect(trainAccuracy).toBeGreaterThan(80);
    await page.getByTestId('evaluate-file').setInputFiles({
      name: 'planar_flower.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(PLANAR),
    });
    const matrix = page.getByTestId('file-evaluation').getByTestId('confusion-matrix');
    await matrix.waitFor();
    const counts = (await matrix.locator('td.cell').allTextContents()).map(Number);
    expect(counts).toHaveLength(4);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(400);
    // Scored on the samples it trained on (no validation split): the same accuracy as the model's.
    expect(await page.getByTestId('evaluation-accuracy').textContent()).toContain(accuracyText!);
    expect(((counts[0]! + counts[3]!) / 400) * 100).toBeCloseTo(trainAccuracy, 1);
    // Where the API evaluates stored datasets, its confusion matrix is the same.
    const modelId = page.url().split('/').at(-1)!;
    const evaluations = await fetch(`${url}/v1/models/${modelId}/evaluations`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    if (evaluations.status !== 404) {
      await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
      const stored = page.getByTestId('stored-evaluation').getByTestId('confusion-matrix');
      await stored.waitFor();
      expect((await stored.locator('td.cell').allTextContents()).map(Number)).toEqual(counts);
    }

    await page.getByLabel('x1').fill('1.2');
    await page.getByLabel('x2').fill('3.1');
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    const prediction = page.getByTestId('prediction');
    await prediction.waitFor();
    const answer = (await api(`/v1/models/${modelId}/predictions`, { samples: [[1.2, 3.1]] })) as {
      predictions: { label: number; probabilities: number[] }[];
    };
    expect(await prediction.textContent()).toContain(`Predicted class: ${answer.predictions[0]!.label}`);
    await screenshot(page, 'dashboard-model.png');
    expect(await accessibilityProblems(page)).toEqual([]);

    // A second job, cancelled from its page.
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.locator('#option-learningRate').fill('1.2');
    await page.locator('#option-iterations').fill('1000000');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => status.textContent()).toMatch(/queued|running/);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => status.textContent(), { timeout: LONG }).toBe('cancelled');
    await expect.poll(() => page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);

    expect(problems).toEqual([]);
    await context.close();
  }, 300_000);
});
