/**
 * train with threads (worker_threads here, through the same ThreadSpawner a browser would fill
 * with Web Workers). By default each update's samples are cut into one block per thread and the
 * blocks' gradients added in thread order: a run is bit-identical to the next and within 1e-12 of
 * one thread. With products split by rows every element is summed by one thread in the kernels'
 * order: the bits of one thread. The numpy golden fixtures hold for 2 threads either way; the
 * helpers end with the run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { started, useNodeThreads } from '../node/threads.ts';
import {
  type DType,
  kernels,
  type LayerSpec,
  type Matrix,
  Network,
  NnInputError,
  Rng,
  setThreadSpawner,
  type TrainOptions,
  train,
} from '../src/index.ts';
import { parallelSettings } from '../src/kernels-parallel.ts';
import { type GoldenCase, loadGoldenCases } from './golden-cases.ts';
import { bits, expectClose } from './helpers.ts';
import { planarNetwork } from './networks.ts';

beforeAll(() => {
  useNodeThreads();
});
afterAll(() => {
  setThreadSpawner(null);
});

/** Resolves when every helper thread started so far has exited. */
const allExited = () =>
  Promise.all(
    started
      .splice(0)
      .map((w) => (w.threadId === -1 ? Promise.resolve() : new Promise((r) => w.once('exit', r)))),
  );
afterEach(async () => {
  await allExited();
});

function randomData(n0: number, m: number, outputs: number, seed: number, dtype: DType) {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n0 * m }, () => rng.normal());
  const y = Float64Array.from({ length: outputs * m }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const data = (values: Float64Array) => (dtype === 'float64' ? values : Float32Array.from(values));
  const X: Matrix = { rows: n0, cols: m, data: data(x) };
  const Y: Matrix = { rows: outputs, cols: m, data: data(y) };
  return { X, Y };
}

// Large enough that the products of layers 1 and 2 are split when the kernels split rows
// (parallelSettings.minProduct), odd sizes so that blocks and row blocks are uneven.
const inputSize = 301;
const samples = 403;
const hidden: LayerSpec[] = [
  { units: 67, activation: 'relu' },
  { units: 33, activation: 'tanh' },
];
const layers: LayerSpec[] = [...hidden, { units: 3, activation: 'sigmoid' }];

/** Trains a fresh network and returns its costs and the bits of its parameters. */
function run(dtype: DType, options: Omit<TrainOptions, 'learningRate'>, outputs = 3) {
  const { X, Y } = randomData(inputSize, samples, outputs, 7, dtype);
  const spec = outputs === 3 ? layers : [...hidden, { units: 1, activation: 'sigmoid' as const }];
  const net = Network.create({ inputSize, layers: spec, seed: 5, dtype });
  const result = train(net, X, Y, { learningRate: 0.05, costEvery: 1, ...options });
  const parameters = Object.values(net.parameterMatrices()).map((M) => bits(M.data));
  const values = Object.values(net.parameterMatrices()).map((M) => Array.from(M.data));
  return { costs: result.costs, validationCosts: result.validationCosts, parameters, values };
}

/** a and b agree to `rel` relative (costs and parameters). */
function expectNear(a: ReturnType<typeof run>, b: ReturnType<typeof run>, rel: number) {
  expectClose(a.costs, b.costs, rel, 'costs');
  expectClose(a.validationCosts, b.validationCosts, rel, 'validation costs');
  expectClose(a.values, b.values, rel, 'parameters');
}

describe('train with threads: blocks of samples (the default)', () => {
  it.each<[DType, number]>([
    ['float64', 1e-12],
    ['float32', 1e-5],
  ])('%s: 2 and 3 threads are bit-identical run after run, and within %s of 1 thread', (dtype, rel) => {
    const one = run(dtype, { iterations: 6 });
    const two = run(dtype, { iterations: 6, threads: 2 });
    const twoAgain = run(dtype, { iterations: 6, threads: 2 });
    const three = run(dtype, { iterations: 6, threads: 3 });
    const threeAgain = run(dtype, { iterations: 6, threads: 3 });
    expect(one.costs).toHaveLength(7);
    expect(two).toEqual(twoAgain);
    expect(three).toEqual(threeAgain);
    expectNear(two, one, rel);
    expectNear(three, one, rel);
    // The blocks' sums are grouped otherwise than one thread's: not the same bits.
    expect(two.parameters).not.toEqual(one.parameters);
  });

  it('mini-batches of two sizes, a validation split, L2 and Adam: bit-identical run after run, within 1e-9 of 1 thread', () => {
    const options = { epochs: 3, batchSize: 64, validationSplit: 0.2, optimizer: 'adam' as const, l2: 0.3 };
    const one = run('float64', options, 1);
    const two = run('float64', { ...options, threads: 2 }, 1);
    expect(one.validationCosts.length).toBeGreaterThan(0);
    expect(run('float64', { ...options, threads: 2 }, 1)).toEqual(two);
    // Adam divides by √s: tiny gradients' last bits move the parameters more (measured 1.2e-12).
    expectNear(two, one, 1e-9);
  });

  it('the network keeps its own parameter arrays, holding the trained values', () => {
    const { X, Y } = randomData(inputSize, samples, 3, 7, 'float64');
    const net = Network.create({ inputSize, layers, seed: 5 });
    const W1 = net.weights.W[1]!;
    train(net, X, Y, { learningRate: 0.05, iterations: 2, threads: 2 });
    expect(net.weights.W[1]).toBe(W1);
    expect(W1.data.buffer).toBeInstanceOf(ArrayBuffer);
    const single = Network.create({ inputSize, layers, seed: 5 });
    train(single, X, Y, { learningRate: 0.05, iterations: 2 });
    expectClose(W1.data, single.weights.W[1]!.data, 1e-12, 'W1');
    expect(bits(W1.data)).not.toBe(bits(Network.create({ inputSize, layers, seed: 5 }).weights.W[1]!.data));
  });
});

describe('train with threads: products split by rows (parallelSettings.split)', () => {
  beforeAll(() => {
    parallelSettings.split = 'rows';
  });
  afterAll(() => {
    parallelSettings.split = 'samples';
  });

  it.each<DType>(['float64', 'float32'])('%s: 2 and 3 threads give the bits of 1 thread', (dtype) => {
    const one = run(dtype, { iterations: 6 });
    expect(run(dtype, { iterations: 6, threads: 2 })).toEqual(one);
    expect(run(dtype, { iterations: 6, threads: 3 })).toEqual(one);
  });

  it('mini-batches of two sizes (new shared buffers mid-run) give the bits of 1 thread', () => {
    const options = { epochs: 3, batchSize: 64, validationSplit: 0.2, optimizer: 'adam' as const };
    expect(run('float64', { ...options, threads: 2 }, 1)).toEqual(run('float64', options, 1));
  });
});

describe('train with threads: the edge', () => {
  it('restores the kernels and ends its helpers when the run throws', async () => {
    const before = kernels();
    const { X, Y } = randomData(inputSize, samples, 3, 7, 'float64');
    const net = Network.create({ inputSize, layers, seed: 5 });
    expect(() =>
      train(net, X, Y, {
        learningRate: 0.05,
        iterations: 5,
        threads: 2,
        onIteration: (s) => (s.iteration === 2 ? 'stop' : 'continue'),
      }),
    ).toThrow(/stopped|aborted/i);
    expect(kernels()).toBe(before);
    expect(started).toHaveLength(1);
    await allExited();
  });

  it('a network too small to gain (parallelSettings.minWork) trains on one thread: no helper starts', () => {
    const { X, Y } = randomData(2, 400, 1, 3, 'float64');
    const tiny = () => planarNetwork({ seed: 2 });
    const one = train(tiny(), X, Y, { learningRate: 0.5, iterations: 20 });
    const two = train(tiny(), X, Y, { learningRate: 0.5, iterations: 20, threads: 2 });
    expect(two.costs).toEqual(one.costs);
    expect(started).toHaveLength(0);
  });

  it('refuses a thread count that is not an integer in [1, 64], and threads without a spawner', () => {
    const { X, Y } = randomData(5, 8, 3, 1, 'float64');
    const net = Network.create({ inputSize: 5, layers, seed: 5 });
    for (const threads of [0, 1.5, 65, Number.NaN]) {
      const error = (() => {
        try {
          train(net, X, Y, { learningRate: 0.1, iterations: 1, threads });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(NnInputError);
      expect((error as NnInputError).argument).toBe('threads');
    }
    setThreadSpawner(null);
    try {
      expect(() => train(net, X, Y, { learningRate: 0.1, iterations: 1, threads: 2 })).toThrow(
        /setThreadSpawner/,
      );
    } finally {
      useNodeThreads();
    }
    expect(started).toHaveLength(0);
  });
});

describe.each(loadGoldenCases())('golden fixture $name with 2 threads', (c: GoldenCase) => {
  it.each(['samples', 'rows'] as const)(
    `%s: numpy's cost history of ${c.iterations} iterations and final parameters to 1e-9`,
    (split) => {
      // With rows, the fixtures' tiny products are split too, in blocks of a row or a few.
      const defaultMinProduct = parallelSettings.minProduct;
      const defaultMinWork = parallelSettings.minWork;
      parallelSettings.split = split;
      parallelSettings.minProduct = split === 'rows' ? 0 : defaultMinProduct;
      parallelSettings.minWork = 0;
      try {
        const net = Network.fromParameters({
          inputSize: c.inputSize,
          layers: c.layers,
          parameters: c.parameters,
        });
        const result = train(net, c.X, c.Y, {
          ...c.options,
          iterations: c.iterations,
          costEvery: 1,
          threads: 2,
        });
        expectClose(result.costs, c.costs, 1e-9, 'costs');
        const params = net.parameters();
        for (const key of Object.keys(c.finalParameters))
          expectClose(params[key], c.finalParameters[key], 1e-9, key);
      } finally {
        parallelSettings.split = 'samples';
        parallelSettings.minProduct = defaultMinProduct;
        parallelSettings.minWork = defaultMinWork;
      }
    },
  );
});
