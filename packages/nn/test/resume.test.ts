/**
 * Determinism and resumption. A seed fixes initialisation and shuffling; a checkpoint taken at
 * iteration k and resumed gives bit-identical parameters and costs to a run that never stopped,
 * for full-batch and mini-batch training, every optimiser, early stopping and float32.
 */
import { describe, expect, it } from 'vitest';
import {
  deserializeCheckpoint,
  type Matrix,
  Network,
  Rng,
  serializeCheckpoint,
  type TrainingCheckpoint,
  type TrainOptions,
  train,
} from '../src/index.ts';
import { log } from '../src/rng.ts';
import { bits, expectTrainingAborted, loadPlanar } from './helpers.ts';
import { expectResumesTo, MIXED_LAYERS, mixedNetwork, parameterBits, STOPS_EARLY } from './networks.ts';

const planar = loadPlanar();

describe('determinism', () => {
  it('the Rng gives fixed numbers for a seed (the same on every machine)', () => {
    const rng = new Rng(1);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([
      393288148, 2174103013, 3814759091,
    ]);
    const normals = new Rng(42);
    // Exact values: only integer arithmetic, sqrt and an fdlibm log written in + − × ÷.
    expect([normals.normal(), normals.normal()]).toEqual(FIRST_NORMALS_SEED_42);
  });

  it('the portable log agrees with Math.log', () => {
    const rng = new Rng(5);
    for (let k = 0; k < 10_000; k++) {
      const x = Math.exp((rng.uniform() - 0.5) * 1400);
      expect(log(x)).toBe(Math.log(x));
    }
    expect(log(0)).toBe(-Infinity);
    expect(log(-1)).toBeNaN();
    expect(log(5e-324)).toBe(Math.log(5e-324));
  });

  it('the Rng state round-trips', () => {
    const a = new Rng(7);
    a.normal();
    const b = Rng.fromState(a.state());
    expect([a.uniform(), a.normal()]).toEqual([b.uniform(), b.normal()]);
  });

  it('same seed: same initial weights; another seed: other weights', () => {
    for (const init of ['random', 'xavier', 'he'] as const) {
      const a = Network.create({ inputSize: 4, layers: MIXED_LAYERS, init, seed: 9 });
      const b = Network.create({ inputSize: 4, layers: MIXED_LAYERS, init, seed: 9 });
      const c = Network.create({ inputSize: 4, layers: MIXED_LAYERS, init, seed: 10 });
      expect(parameterBits(a)).toEqual(parameterBits(b));
      expect(parameterBits(a)['W1']).not.toBe(parameterBits(c)['W1']);
    }
  });

  it('same seed: same cost history and weights, twice, with mini-batch shuffling', () => {
    const run = (seed: number) => {
      const net = mixedNetwork({ init: 'he', seed: 1 });
      const r = train(net, planar.X, planar.Y, {
        learningRate: 0.05,
        epochs: 5,
        batchSize: 32,
        seed,
        costEvery: 3,
      });
      return { costs: bits(Float64Array.from(r.costs)), params: parameterBits(net) };
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5).costs).not.toBe(run(6).costs);
  });
});

/** Run uninterrupted, capturing a checkpoint at iteration k; resume a fresh network from it. */
function compareResume(
  options: TrainOptions,
  k: number,
  dtype: 'float64' | 'float32' = 'float64',
  viaBytes = false,
) {
  const make = (seed: number) => mixedNetwork({ init: 'he', seed, dtype });
  const full = make(1);
  let checkpoint: TrainingCheckpoint | undefined;
  const r1 = train(full, planar.X, planar.Y, {
    ...options,
    onProgress: (p) => {
      if (p.iteration === k) checkpoint = p.checkpoint();
    },
  });
  expect(checkpoint, `no checkpoint at ${k}`).toBeDefined();
  const saved = viaBytes ? deserializeCheckpoint(serializeCheckpoint(checkpoint!)) : checkpoint!;
  const resumed = make(999); // other weights: the checkpoint's parameters replace them
  const r2 = train(resumed, planar.X, planar.Y, { ...options, ...saved });
  expect(parameterBits(resumed)).toEqual(parameterBits(full));
  const after = r1.costIterations.map((it, i) => [it, r1.costs[i]!] as const).filter(([it]) => it > k);
  expect(r2.costIterations).toEqual(after.map(([it]) => it));
  expect(bits(Float64Array.from(r2.costs))).toBe(bits(Float64Array.from(after.map(([, c]) => c))));
  expect(r2.validationCosts).toEqual(
    r1.validationCosts.slice(r1.validationCosts.length - r2.validationCosts.length),
  );
  expect(r2.iterations).toBe(r1.iterations);
  return { r1, r2 };
}

describe('resume from a checkpoint is bit-identical', () => {
  it('full-batch gradient descent', () => {
    compareResume({ learningRate: 0.3, iterations: 60, costEvery: 5 }, 25);
  });

  it('full-batch Adam with L2 (moments and the step t carry over)', () => {
    compareResume({ learningRate: 0.01, iterations: 60, costEvery: 5, optimizer: 'adam', l2: 0.2 }, 30);
  });

  it('mini-batch momentum, checkpoint in the middle of an epoch', () => {
    // 400 samples in batches of 48: 9 batches per epoch; iteration 21 is batch 3 of epoch 2.
    compareResume(
      { learningRate: 0.05, epochs: 6, batchSize: 48, costEvery: 7, optimizer: 'momentum', seed: 12 },
      21,
    );
  });

  it('mini-batch Adam, checkpoint at an epoch boundary, through the binary checkpoint form', () => {
    compareResume(
      { learningRate: 0.01, epochs: 4, batchSize: 100, costEvery: 4, optimizer: 'adam', seed: 3 },
      8,
      'float64',
      true,
    );
  });

  it('validation split with early stopping (best weights and patience carry over)', () => {
    const { r1, r2 } = compareResume(
      {
        learningRate: 0.5,
        iterations: 3000,
        costEvery: 50,
        validationSplit: 0.2,
        earlyStopping: { patience: 3 },
        seed: 8,
      },
      200,
      'float64',
      true,
    );
    expect(r1.validationCosts.length).toBeGreaterThan(4);
    // The resumed run holds out the same samples (its split is drawn from the seed again).
    expect(r2.split!.validation).toHaveLength(80);
    expect(r2.split).toEqual(r1.split);
  });

  it('a checkpoint taken where early stopping ended the run: the resumed run ends there too', () => {
    const probe = train(mixedNetwork({ init: 'he', seed: 1 }), planar.X, planar.Y, STOPS_EARLY);
    expect([probe.stoppedEarly, probe.iterations < probe.plannedIterations]).toEqual([true, true]);
    const { r1, r2 } = compareResume(STOPS_EARLY, probe.iterations);
    expect([r2.stoppedEarly, r2.bestIteration, r2.finalCost]).toEqual([true, r1.bestIteration, r1.finalCost]);
  });

  it('float32', () => {
    compareResume(
      { learningRate: 0.02, epochs: 3, batchSize: 50, costEvery: 5, optimizer: 'adam', seed: 4 },
      10,
      'float32',
      true,
    );
  });

  it('after an abort at any iteration (not only at recorded costs)', () => {
    const options: TrainOptions = {
      learningRate: 0.05,
      epochs: 4,
      batchSize: 48,
      costEvery: 10,
      optimizer: 'momentum',
      seed: 2,
    };
    const make = () => mixedNetwork({ init: 'he', seed: 1 });
    const full = make();
    const r1 = train(full, planar.X, planar.Y, options);
    let checks = 0;
    const { checkpoint } = expectTrainingAborted(() =>
      train(make(), planar.X, planar.Y, {
        ...options,
        signal: {
          get aborted() {
            return ++checks > 13;
          },
        },
      }),
    );
    expect(checkpoint.startIteration).toBe(13);
    const r2 = expectResumesTo(full, make(), planar, options, checkpoint);
    expect(r2.costs).toEqual(r1.costs.filter((_, i) => r1.costIterations[i]! > 13));
  });

  it('resuming without the state it needs is refused', () => {
    const net = mixedNetwork({ seed: 1 });
    expect(() =>
      train(net, planar.X, planar.Y, {
        learningRate: 0.1,
        iterations: 10,
        optimizer: 'adam',
        startIteration: 5,
      }),
    ).toThrow(/resuming at iteration 5 needs optimizerState/);
    expect(() =>
      train(net, planar.X, planar.Y, { learningRate: 0.1, epochs: 2, batchSize: 50, startIteration: 5 }),
    ).toThrow(/needs rngState/);
  });

  it('the checkpoint is a copy (training on does not change it)', () => {
    const net = mixedNetwork({ seed: 1 });
    let cp: TrainingCheckpoint | undefined;
    let W1: Matrix | undefined;
    train(net, planar.X, planar.Y, {
      learningRate: 0.1,
      iterations: 10,
      costEvery: 5,
      optimizer: 'momentum',
      onProgress: (p) => {
        if (p.iteration === 5) {
          cp = p.checkpoint();
          W1 = { ...cp.parameters['W1']!, data: cp.parameters['W1']!.data.slice() };
        }
      },
    });
    expect(bits(cp!.parameters['W1']!.data)).toBe(bits(W1!.data));
    expect(cp!.optimizerState.t).toBe(5);
  });
});

const FIRST_NORMALS_SEED_42 = [0.26752683279886763, 0.5813902645846303];
