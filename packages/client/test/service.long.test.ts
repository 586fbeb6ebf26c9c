/**
 * @backprop/client and the `backprop` binary against the real service (the API listening on a
 * port, a worker process, Postgres, Redis). The client: a trained model's calls (registry,
 * aliases, evaluations, receipt, reproduction, export). The binary: upload, define, train with
 * progress, predict with CSV and JSON in and out, export; Ctrl-C answered "cancel" and "detach".
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dataset, JobEvent, Network, PredictResponse } from '@backprop/contracts';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../../apps/worker/test/process/harness.ts';
import { planarCsv } from '../../../harness/api-context.ts';
import { BackpropClient } from '../src/index.ts';
import { type CliResult, type LiveCli, PLANAR_NETWORK_ARGS, runCli, spawnCli } from './cli-process.ts';

let stack: Stack;
let home: string;
let client: BackpropClient;
const cli = (...args: string[]) => runCli(home, ...args);

beforeAll(async () => {
  stack = await createStack();
  stack.spawnWorker();
  home = await mkdtemp(join(tmpdir(), 'backprop-cli-train-'));
  const url = await stack.ctx.app.listen({ host: '127.0.0.1', port: 0 });
  client = new BackpropClient({ baseUrl: url, apiKey: stack.ctx.apiKey });
  expect((await cli('login', '--url', url, '--key', stack.ctx.apiKey)).code).toBe(0);
});
afterAll(async () => {
  await stack?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** The ids the session makes: uploaded by the CLI itself. */
async function planarSession(): Promise<{ datasetId: string; networkId: string }> {
  const csv = join(home, 'planar.csv');
  await writeFile(csv, await planarCsv());
  const uploaded = await cli('--json', 'datasets', 'upload', csv, '--name', 'planar');
  expect(uploaded.code, uploaded.stderr).toBe(0);
  const created = await cli('--json', ...PLANAR_NETWORK_ARGS);
  expect(created.code, created.stderr).toBe(0);
  return {
    datasetId: Dataset.parse(JSON.parse(uploaded.stdout)).id,
    networkId: Network.parse(JSON.parse(created.stdout)).id,
  };
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

describe('the client with a worker', () => {
  /** A job trained to its end, followed through the client's event iterator. */
  async function trainToModel(
    datasetId: string,
    networkId: string,
  ): Promise<{ jobId: string; modelId: string }> {
    const job = await client.jobs.create({
      datasetId,
      networkId,
      training: { learningRate: 1.2, iterations: 1000, costEvery: 100 },
    });
    let modelId: string | null = null;
    for await (const event of client.jobs.events(job.id)) {
      if (event.type === 'status' && event.status !== 'queued' && event.status !== 'running') {
        expect(event.status).toBe('succeeded');
        modelId = event.modelId;
      }
    }
    expect(modelId).not.toBeNull();
    return { jobId: job.id, modelId: modelId ?? '' };
  }

  it('registers versions under a name, predicts through an alias, evaluates, and reproduces bit for bit', async () => {
    const dataset = await client.datasets.upload(await planarCsv(), { name: 'planar' });
    const network = await client.networks.create({
      inputSize: 2,
      layers: [
        { units: 4, activation: 'tanh' },
        { units: 1, activation: 'sigmoid' },
      ],
    });
    const first = await trainToModel(dataset.id, network.id);
    const samples = [
      [0.5, -1.2],
      [-3, 2.5],
    ];

    const v1 = await client.models.update(first.modelId, { name: 'flower', tags: ['planar'] });
    expect(v1).toMatchObject({ name: 'flower', version: 1, tags: ['planar'] });
    await client.registry.setAlias('flower', 'production', 1);
    const viaAlias = await client.registry.predict('flower', 'production', samples);
    expect(viaAlias.predictions).toEqual((await client.models.predict(first.modelId, samples)).predictions);
    expect((await client.models.list({ name: 'flower' })).items.map((m) => m.id)).toEqual([first.modelId]);
    expect((await client.models.list({ tag: 'planar' })).items).toHaveLength(1);

    const evaluation = await client.evaluations.create(first.modelId, { datasetId: dataset.id });
    expect((await client.evaluations.get(first.modelId, evaluation.id)).id).toBe(evaluation.id);
    expect((await client.evaluations.list(first.modelId)).items.map((e) => e.id)).toEqual([evaluation.id]);
    await client.evaluations.delete(first.modelId, evaluation.id);
    expect((await client.evaluations.list(first.modelId)).items).toEqual([]);

    const receipt = await client.models.receipt(first.modelId);
    expect(receipt).toMatchObject({ modelId: first.modelId, job: { id: first.jobId } });
    const again = await client.jobs.reproduce(first.jobId);
    let reproducedModel: string | null = null;
    for await (const event of client.jobs.events(again.id)) {
      if (event.type === 'status' && event.status === 'succeeded') reproducedModel = event.modelId;
    }
    expect(reproducedModel).not.toBeNull();
    expect(await client.models.parameters(reproducedModel ?? '')).toEqual(
      await client.models.parameters(first.modelId),
    );

    // A new version takes the alias over: clients of flower@production follow without a change.
    await client.models.update(reproducedModel ?? '', { name: 'flower' });
    const moved = await client.registry.setAlias('flower', 'production', 2);
    expect(moved).toMatchObject({ modelId: reproducedModel, previousModelId: first.modelId });
    expect((await client.registry.get('flower')).versions).toHaveLength(2);
    await client.registry.deleteAlias('flower', 'production');

    const exported = JSON.parse(new TextDecoder().decode(await client.models.export(first.modelId, 'json')));
    expect(exported).toMatchObject({ format: expect.any(String) });
    await client.models.delete(first.modelId);
    await expect(client.models.get(first.modelId)).rejects.toMatchObject({ status: 404 });
  });
});

describe('the backprop CLI with a worker', () => {
  it('trains with progress to a model, predicts from CSV and JSON (CSV and JSON out), and exports', async () => {
    const { datasetId, networkId } = await planarSession();
    const args = [
      '--dataset',
      datasetId,
      '--network',
      networkId,
      '--learning-rate',
      '1.2',
      '--iterations',
      '3000',
    ];

    // For scripts: the created job, then its events as JSON lines, the last one its end.
    const trained = await cli('--json', 'train', ...args, '--options', '{"costEvery": 100}');
    expect(trained.code, trained.stderr).toBe(0);
    const [job, ...events] = jsonLines(trained.stdout);
    const parsed = events.map((event) => JobEvent.parse(event));
    const end = parsed.at(-1);
    expect(end).toMatchObject({ type: 'status', status: 'succeeded', jobId: job.id });
    const modelId = end?.type === 'status' ? end.modelId : null;
    expect(modelId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed.filter((e) => e.type === 'cost').length).toBeGreaterThan(0);
    expect((await stack.job(job.id)).training).toMatchObject({
      learningRate: 1.2,
      iterations: 3000,
      costEvery: 100,
    });

    // For people: a progress bar on stderr (lines when not a terminal), the end on stdout.
    const human = await cli('train', ...args);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toMatch(/job [0-9a-f-]{36} queued/);
    expect(human.stdout).toMatch(/^status succeeded model [0-9a-f-]{36}\n$/);

    const samples = [
      [0.5, -1.2],
      [-3, 2.5],
      [1, 1],
    ];
    const expected = PredictResponse.parse(
      (await stack.post(`/v1/models/${modelId}/predictions`, { samples })).body,
    ).predictions;

    const csv = join(home, 'samples.csv');
    await writeFile(csv, `x1,x2\n${samples.map((row) => row.join(',')).join('\n')}\n`);
    const fromCsv = await cli('predict', String(modelId), csv);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    const rows: string[][] = parseCsv(fromCsv.stdout);
    expect(rows[0]).toEqual(['label', 'p0', 'p1']);
    expect(rows.slice(1)).toEqual(
      expected.map((p) => ('label' in p ? [String(p.label), ...p.probabilities.map(String)] : [])),
    );

    const fromJson = await cli('predict', String(modelId), JSON.stringify({ samples }), '--format', 'json');
    expect(fromJson.code, fromJson.stderr).toBe(0);
    expect(PredictResponse.parse(JSON.parse(fromJson.stdout)).predictions).toEqual(expected);

    const js = join(home, 'model.mjs');
    const exported = await cli('export', String(modelId), '--format', 'js', '-o', js);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(`wrote ${js}`);
    const module: unknown = await import(pathToFileURL(js).href);
    expect(module).toHaveProperty('predict');
    const onnx = join(home, 'model.onnx');
    expect((await cli('export', String(modelId), '--format', 'onnx', '-o', onnx)).code).toBe(0);
    expect((await readFile(onnx)).length).toBeGreaterThan(100);
  });

  /** A job of minutes, followed by the CLI until it has shown progress (as JSON, or its bar). */
  async function startLongTraining(json: boolean): Promise<{ live: LiveCli; jobId: string }> {
    const { datasetId, networkId } = await planarSession();
    const live = spawnCli(
      home,
      ...(json ? ['--json'] : []),
      'train',
      '--dataset',
      datasetId,
      '--network',
      networkId,
      '--learning-rate',
      '0.5',
      '--iterations',
      // LIMIT_ITERATIONS: minutes of training, far more than the test needs before its Ctrl-C
      '1000000',
    );
    let jobId: string;
    if (json) {
      await live.waitFor('stdout', /"type":"progress"/, 90_000);
      jobId = jsonLines(live.stdout())[0].id;
    } else {
      // Not a terminal: the bar is written as a line every second.
      await live.waitFor(
        'stderr',
        /training \|.*\| \d+\/1000000 iterations \| cost \d\.\d+ \| ETA \d+s/,
        90_000,
      );
      jobId = /job ([0-9a-f-]{36}) queued/.exec(live.stderr())?.[1] ?? '';
    }
    expect((await stack.job(jobId)).status).toBe('running');
    return { live, jobId };
  }

  /** Ctrl-C, then `answer` to the question it asks; how the CLI ended. */
  async function interruptAnswering(live: LiveCli, answer: 'c' | 'd'): Promise<CliResult> {
    live.child.kill('SIGINT');
    await live.waitFor('stderr', /\[c\]ancel it, or \[d\]etach/);
    live.child.stdin.write(`${answer}\n`);
    return live.exited;
  }

  it('Ctrl-C asks; "cancel" cancels the job and exits 3', async () => {
    const { live, jobId } = await startLongTraining(true);
    const result = await interruptAnswering(live, 'c');
    expect(result.code).toBe(3);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ type: 'status', status: 'cancelled', jobId });
    expect((await stack.job(jobId)).status).toBe('cancelled');
  });

  it('a progress bar with cost and ETA; Ctrl-C answered "detach" leaves the job running and exits 0', async () => {
    const { live, jobId } = await startLongTraining(false);
    const result = await interruptAnswering(live, 'd');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`backprop jobs watch ${jobId}`);
    expect((await stack.job(jobId)).status).toBe('running');

    expect((await cli('jobs', 'cancel', jobId)).code).toBe(0);
    expect((await stack.waitForStatus(jobId, ['cancelled'])).status).toBe('cancelled');
  });
});
