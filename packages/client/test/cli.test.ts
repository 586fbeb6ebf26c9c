/**
 * The `backprop` binary, run as a user runs it (a child process), against the real API listening
 * on a port (own database and Redis prefix), with its own config directory.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataset, ErrorBody, JobPage, Network } from '@backprop/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv } from '../../../harness/api-context.ts';
import { queueJobOn } from '../../../harness/api-fixtures.ts';
import { PLANAR_NETWORK_ARGS, runCli } from './cli-process.ts';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('the backprop CLI against the real API', () => {
  let ctx: ApiContext;
  let url: string;
  let home: string;

  beforeAll(async () => {
    ctx = await createApiContext();
    url = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    home = await mkdtemp(join(tmpdir(), 'backprop-cli-'));
  });
  afterAll(async () => {
    await ctx?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const run = (...args: string[]) => runCli(home, ...args);

  it('shows help, refuses to work before login (exit 2), and saves the key with mode 0600', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    for (const command of ['login', 'datasets', 'networks', 'train', 'jobs', 'predict', 'export']) {
      expect(help.stdout).toContain(command);
    }
    for (const command of [['networks', 'create'], ['train'], ['predict'], ['export']]) {
      const sub = await run(...command, '--help');
      expect(sub.code).toBe(0);
      expect(sub.stdout).toContain('Usage: backprop');
    }

    const before = await run('jobs', 'list');
    expect(before.code).toBe(2);
    expect(before.stderr).toContain('not logged in');

    const wrongKey = await run('login', '--url', url, '--key', 'bp_not-a-key');
    expect(wrongKey.code).toBe(1);

    const login = await run('login', '--url', url, '--key', ctx.apiKey);
    expect(login.code).toBe(0);
    const saved = await stat(join(home, 'backprop', 'config.json'));
    expect(saved.mode & 0o777).toBe(0o600);
  });

  it('uploads a dataset, lists, watches and cancels a job, with --json answers that parse', async () => {
    const csvFile = join(home, 'planar.csv');
    await writeFile(csvFile, await planarCsv());
    const upload = await run('--json', 'datasets', 'upload', csvFile, '--name', 'planar');
    expect(upload.code).toBe(0);
    const dataset = Dataset.parse(JSON.parse(upload.stdout));
    expect(dataset.samples).toBeGreaterThan(0);

    const jobId = await queueJobOn(ctx.app, dataset.id, 2);

    const list = await run('--json', 'jobs', 'list');
    expect(list.code).toBe(0);
    expect(JobPage.parse(JSON.parse(list.stdout)).items.map((item) => item.id)).toEqual([jobId]);

    const cancel = await run('jobs', 'cancel', jobId);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain('cancelled');

    const watch = await run('jobs', 'watch', jobId);
    expect(watch.code).toBe(3); // cancelled
    expect(watch.stdout.trim().split('\n').at(-1)).toBe('status cancelled');
  });

  it('creates a network from flags or a file; bad usage exits 2 naming the option, a refused definition 1', async () => {
    const created = await run('--json', ...PLANAR_NETWORK_ARGS);
    expect(created.code).toBe(0);
    const network = Network.parse(JSON.parse(created.stdout));
    expect(network.inputSize).toBe(2);
    expect(network.layers.map((l) => [l.units, l.activation])).toEqual([
      [4, 'tanh'],
      [1, 'sigmoid'],
    ]);

    const file = join(home, 'network.json');
    await writeFile(file, JSON.stringify({ inputSize: 3, layers: [{ units: 2, activation: 'softmax' }] }));
    const fromFile = await run('networks', 'create', '--file', file);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toMatch(/^[0-9a-f-]{36} {2}3 → 2 softmax\n$/);

    const badLayer = await run('networks', 'create', '--input', '2', '--layer', 'four:tanh');
    expect(badLayer.code).toBe(2);
    expect(badLayer.stderr).toContain("option '--layer <units:activation>' argument 'four:tanh' is invalid");
    const noLayer = await run('networks', 'create', '--input', '2');
    expect(noLayer.code).toBe(2);
    expect(noLayer.stderr).toContain('--layer');

    const refused = await run('networks', 'create', '--input', '2', '--layer', '1:tanh');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^BP_ERR_VALIDATION: .*output layer/);
  });

  it('predict reads samples as inline JSON, a JSON file or CSV, and refuses what is not numbers (exit 2)', async () => {
    const csv = join(home, 'bad.csv');
    await writeFile(csv, 'x1,x2\n0.1,0.2\n0.3,oops\n');
    const bad = await run('predict', MISSING, csv);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('CSV row 2, column 2: "oops" is not a number');

    const notJson = await run('predict', MISSING, '[[0.1,');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('the samples are not JSON');

    const json = join(home, 'samples.json');
    await writeFile(json, JSON.stringify({ samples: [[0.1, 0.2]] }));
    // Read and sent: the API answers for the model (missing here).
    const sent = await run('predict', MISSING, json);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('BP_ERR_MODEL_NOT_FOUND');
  });

  it('an API refusal exits 1 with its code (as JSON with --json)', async () => {
    const missing = await run('--json', 'jobs', 'cancel', MISSING);
    expect(missing.code).toBe(1);
    expect(ErrorBody.pick({ code: true }).parse(JSON.parse(missing.stderr)).code).toBe(
      'BP_ERR_JOB_NOT_FOUND',
    );

    const predict = await run('predict', MISSING, '[[0.1, 0.2]]');
    expect(predict.code).toBe(1);
    expect(predict.stderr).toContain('BP_ERR_MODEL_NOT_FOUND');
  });
});
