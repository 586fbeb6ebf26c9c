/**
 * RELIABILITY.md scenario 22, numeric integrity across the storage boundary: what a worker
 * trained is what Postgres keeps and what the API predicts with, bit for bit; and a diverging run
 * leaves no NaN, no null and no rounded number anywhere (P15: Json turns NaN into null, Float[]
 * rounds).
 */
import { bytesToFloat64 } from '@backprop/db';
import { DivergenceError, deserialize, deserializeCheckpoint, fromRows, Network, train } from '@backprop/nn';
import { describe, expect, it } from 'vitest';
import { planarMatrices, type Stack, useStack } from './harness.ts';

let stack: Stack;
const report = useStack('numeric.long.test.ts', (created) => {
  stack = created;
});

/** The exact bits of a list of doubles, for comparisons where -0, NaN payloads and ulps count. */
const bits = (values: ArrayLike<number>) => Buffer.from(Float64Array.from(values).buffer).toString('hex');

type Parameters = Record<string, number[][]>;
type Normalization =
  | { kind: 'none' }
  | { kind: 'standard'; mean: number[]; std: number[] }
  | { kind: 'minmax'; min: number[]; max: number[] };

/** The documented transform (README: samples are in raw units, normalised as in training). */
function normalize(rows: number[][], n: Normalization): number[][] {
  return rows.map((row) =>
    row.map((v, j) =>
      n.kind === 'standard'
        ? (v - n.mean[j]!) / n.std[j]!
        : n.kind === 'minmax'
          ? (v - n.min[j]!) / (n.max[j]! - n.min[j]!)
          : v,
    ),
  );
}

describe('train → store → reload → predict', () => {
  it('the API predicts bit-identically to @backprop/nn on the stored parameters, which equal the stored bytes', async () => {
    stack.spawnWorker();
    const { rows } = planarMatrices();
    const samples = rows.map((r) => r.slice(1));
    const cases = [
      { normalize: 'standard', hidden: 4 },
      { normalize: 'minmax', hidden: 6 },
    ] as const;
    let compared = 0;
    for (const c of cases) {
      const jobId = await stack.startJob(
        { learningRate: 0.5, iterations: 3000, costEvery: 100, seed: 4, normalize: c.normalize },
        await stack.createNetwork(c.hidden),
      );
      const job = await stack.waitForStatus(jobId, ['succeeded', 'failed']);
      expect(job.status).toBe('succeeded');
      const model = (
        await stack.get<{
          inputSize: number;
          layers: { units: number; activation: string }[];
          normalization: Normalization;
          metrics: { trainAccuracy: number; finalCost: number };
        }>(`/v1/models/${job.modelId}`)
      ).body;
      expect(model.normalization.kind).toBe(c.normalize);
      const parameters = (await stack.get<Parameters>(`/v1/models/${job.modelId}/parameters`)).body;

      // The bytes in Postgres are nn's binary network format, and hold the parameters the API
      // serves bit for bit (W1, b1, W2, b2 row by row after its header and layer table).
      const row = await stack.ctx.database.db.model.findUniqueOrThrow({ where: { jobId } });
      expect(deserialize(row.parameters).sizes).toEqual([2, c.hidden, 1]);
      const flat = ['W1', 'b1', 'W2', 'b2'].flatMap((k) => parameters[k]!.flat());
      expect(bits(bytesToFloat64(row.parameters.subarray(16 + 16 * 2)))).toBe(bits(flat));

      // nn on those parameters and the stored normalisation, against the API's answers.
      const net = Network.fromParameters({ inputSize: 2, layers: model.layers as never, parameters });
      const local = net.predictRows(normalize(samples, model.normalization).map((r) => Float64Array.from(r)));
      const api = (
        await stack.post<{ predictions: { label: number; probabilities: number[] }[] }>(
          `/v1/models/${job.modelId}/predictions`,
          { samples },
        )
      ).body.predictions;
      expect(api).toHaveLength(samples.length);
      for (const [i, p] of api.entries()) {
        const o = local.outputs[i]![0]!;
        expect(bits(p.probabilities)).toBe(bits([1 - o, o]));
        expect(p.label).toBe(local.labels![i]);
        compared++;
      }
      // The accuracy the worker measured in its thread is the one these predictions give.
      const correct = api.filter((p, i) => p.label === rows[i]![0]).length;
      expect(model.metrics.trainAccuracy).toBe(correct / rows.length);
      // The cost history's last entry is the model's final cost, unrounded.
      const { costs } = (await stack.get<{ costs: number[] }>(`/v1/jobs/${jobId}/costs`)).body;
      expect(bits([costs.at(-1)!])).toBe(bits([model.metrics.finalCost]));
    }
    report.record('scenario22Predictions', { samplesCompared: compared, mismatches: 0 });
  });
});

describe('a forced divergence', () => {
  it('fails the job and stores only finite, unrounded numbers: the whole finite history, bit-exact to nn’s own', async () => {
    stack.spawnWorker();
    // y = 3x + 0.5 on x in [0, 10), 40 points repeated 100 times (slow enough for several progress
    // writes before it blows up); a learning rate just above the stable limit makes the cost grow
    // geometrically until it overflows, tens of thousands of updates in.
    const xs = Array.from({ length: 4000 }, (_, i) => [(i % 40) / 4]);
    const labels = xs.map(([x]) => 3 * x! + 0.5);
    const dataset = await stack.post<{ id: string; task: string }>('/v1/datasets', { features: xs, labels });
    expect(dataset.body.task).toBe('regression');
    const network = await stack.post<{ id: string }>('/v1/networks', {
      inputSize: 1,
      layers: [{ units: 1, activation: 'linear' }],
      init: 'xavier',
    });
    const training = {
      learningRate: 0.0612,
      iterations: 200_000,
      costEvery: 100,
      seed: 3,
      normalize: 'none',
    };
    const jobId = await stack.startJob(training, network.body.id, dataset.body.id);
    const job = await stack.waitForStatus(jobId, ['succeeded', 'failed'], 120_000);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('BP_ERR_DIVERGED');
    expect(job.attempts).toBe(1);
    expect(job.modelId).toBeNull();
    expect(await stack.ctx.database.db.model.count({ where: { jobId } })).toBe(0);

    // The raw row: bytes, not JSON, so NaN could not have turned into null; and none is there.
    const row = await stack.ctx.database.db.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
    const stored = Array.from(bytesToFloat64(row.costs));
    expect(stored.length).toBeGreaterThan(10);
    expect(stored.every(Number.isFinite)).toBe(true);
    expect(row.cost === null || Number.isFinite(row.cost)).toBe(true);
    const { costs } = (await stack.get<{ costs: (number | null)[] }>(`/v1/jobs/${jobId}/costs`)).body;
    expect(costs).not.toContain(null);

    // The same run in nn: the stored history is exactly the start of its finite history.
    const net = Network.create({
      inputSize: 1,
      layers: [{ units: 1, activation: 'linear' }],
      init: 'xavier',
      seed: 3,
    });
    let direct: DivergenceError | undefined;
    try {
      // normalize is the service's option (nn sees the data as given): train refuses keys it does not know.
      const { normalize: _service, ...options } = training;
      train(net, fromRows(xs), fromRows(labels.map((y) => [y])), { ...options, optimizer: 'gd', l2: 0 });
    } catch (err) {
      direct = err as DivergenceError;
    }
    expect(direct).toBeInstanceOf(DivergenceError);
    expect(job.error?.message).toBe(direct!.message);
    // All of it: the last finite costs before the blow-up are written with the failure.
    expect(bits(stored)).toBe(bits(direct!.costs));
    expect(row.iteration).toBe(direct!.iteration);

    // A checkpoint left behind by the failed attempt holds finite weights and history only.
    const checkpoint = await stack.ctx.database.db.checkpoint.findUnique({ where: { jobId } });
    if (checkpoint) {
      const snapshot = deserializeCheckpoint(checkpoint.snapshot);
      for (const m of Object.values(snapshot.parameters))
        expect(Array.from(m.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(bytesToFloat64(checkpoint.costs)).every(Number.isFinite)).toBe(true);
    }
    report.record('scenario22Divergence', {
      divergedMessage: job.error?.message,
      storedCosts: stored.length,
      nnFiniteCosts: direct!.costs.length,
    });
  });
});
