/**
 * The `backprop` binary, run as a user runs it (a child process), against the real API listening
 * on a port (own database and Redis prefix), with its own config directory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Dataset, ErrorBody, Job, JobPage } from '@backprop/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiContext, createApiContext, planarCsv } from '../../../apps/api/test/context.ts';

const BIN = fileURLToPath(new URL('../bin/backprop.mjs', import.meta.url));
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

  async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, XDG_CONFIG_HOME: home, BACKPROP_URL: '', BACKPROP_API_KEY: '' };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      return execFailure(err);
    }
  }

  it('shows help, refuses to work before login (exit 2), and saves the key with mode 0600', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    for (const command of ['login', 'datasets', 'jobs', 'predict']) expect(help.stdout).toContain(command);

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

    const created = await ctx.app.inject({
      method: 'POST',
      url: '/v1/networks',
      payload: { inputSize: 2, layers: [{ units: 1, activation: 'sigmoid' }] },
    });
    const job = await ctx.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: {
        datasetId: dataset.id,
        networkId: created.json().id,
        training: { learningRate: 0.5, iterations: 10 },
      },
    });
    const jobId = Job.parse(job.json()).id;

    const list = await run('--json', 'jobs', 'list');
    expect(list.code).toBe(0);
    expect(JobPage.parse(JSON.parse(list.stdout)).items.map((item) => item.id)).toEqual([jobId]);

    const cancel = await run('jobs', 'cancel', jobId);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain('cancelled');

    const watch = await run('jobs', 'watch', jobId);
    expect(watch.code).toBe(0);
    expect(watch.stdout.trim().split('\n').at(-1)).toBe('status cancelled');
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

/** execFile's failure: its exit code and output. */
function execFailure(err: unknown): { code: number; stdout: string; stderr: string } {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'number') {
    const stdout = 'stdout' in err && typeof err.stdout === 'string' ? err.stdout : '';
    const stderr = 'stderr' in err && typeof err.stderr === 'string' ? err.stderr : '';
    return { code: err.code, stdout, stderr };
  }
  throw err;
}
