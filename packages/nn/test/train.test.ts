/**
 * The training loop: what the cost history means, progress, cancellation, divergence, mini-batches
 * and early stopping.
 */
import { describe, expect, it } from 'vitest';
import {
  DivergenceError,
  fromNested,
  type Matrix,
  Network,
  NnInputError,
  planUpdates,
  Rng,
  selectColumns,
  type TrainProgress,
  toNested,
  train,
  zeros,
} from '../src/index.ts';
import { bits, expectTrainingAborted, loadPlanar } from './helpers.ts';
import { dense, planarNetwork } from './networks.ts';

const planar = loadPlanar();
const makeNet = () => planarNetwork({ init: 'random', seed: 2 });

describe('cost history', () => {
  it('costs[0] is J_0 of the initial parameters and N iterations make N updates', () => {
    const net = makeNet();
    const J0 = net.cost(planar.X, planar.Y);
    const stepped = makeNet();
    for (let i = 0; i < 7; i++) stepped.step(planar.X, planar.Y, { learningRate: 1.2 });
    const result = train(net, planar.X, planar.Y, { learningRate: 1.2, iterations: 7, costEvery: 1 });
    expect(result.costs[0]).toBe(J0);
    expect(result.costs).toHaveLength(8);
    expect(result.iterations).toBe(7);
    // Full-batch gd in train is exactly 7 course-style steps, bit for bit.
    for (const key of ['W1', 'b1', 'W2', 'b2']) {
      expect(bits(net.parameterMatrices()[key]!.data)).toBe(bits(stepped.parameterMatrices()[key]!.data));
    }
    expect(result.costs[7]).toBe(stepped.cost(planar.X, planar.Y));
    expect(result.finalCost).toBe(result.costs[7]);
  });

  it('records every k updates and always the final cost', () => {
    const result = train(makeNet(), planar.X, planar.Y, { learningRate: 1.2, iterations: 25, costEvery: 10 });
    expect(result.costIterations).toEqual([0, 10, 20, 25]);
    expect(result.costs).toHaveLength(4);
    const even = train(makeNet(), planar.X, planar.Y, { learningRate: 1.2, iterations: 20, costEvery: 10 });
    expect(even.costIterations).toEqual([0, 10, 20]);
    // costs[i] is the cost after i·k updates: the same as a shorter run's final cost.
    const ten = train(makeNet(), planar.X, planar.Y, { learningRate: 1.2, iterations: 10 });
    expect(result.costs[1]).toBe(ten.finalCost);
  });

  it('defaults costEvery to N/100 and matches the course curve for the planar data', () => {
    const result = train(makeNet(), planar.X, planar.Y, { learningRate: 1.2, iterations: 1000 });
    expect(result.costEvery).toBe(10);
    expect(result.costs).toHaveLength(101);
    expect(result.costs[0]).toBeCloseTo(Math.LN2, 3); // tiny weights: AL ≈ 0.5, J ≈ log 2
    expect(result.costs.at(-1)).toBeLessThan(0.35);
  });

  it('adds the L2 term to the recorded cost', () => {
    const net = makeNet();
    const r = train(net, planar.X, planar.Y, { learningRate: 0.5, iterations: 3, costEvery: 1, l2: 0.3 });
    expect(r.finalCost).toBeCloseTo(net.cost(planar.X, planar.Y, { l2: 0.3 }), 14);
    expect(r.finalCost).toBeGreaterThan(net.cost(planar.X, planar.Y));
  });
});

describe('progress, cancellation and divergence', () => {
  it('calls onProgress at every recorded cost with a checkpoint', () => {
    const seen: { iteration: number; cost: number; start: number }[] = [];
    train(makeNet(), planar.X, planar.Y, {
      learningRate: 1.2,
      iterations: 30,
      costEvery: 10,
      onProgress: (p) =>
        seen.push({ iteration: p.iteration, cost: p.cost, start: p.checkpoint().startIteration }),
    });
    expect(seen.map((s) => s.iteration)).toEqual([0, 10, 20, 30]);
    expect(seen.map((s) => s.start)).toEqual([0, 10, 20, 30]);
  });

  it('a checkpoint cannot be taken after the callback returned', () => {
    let saved: TrainProgress | undefined;
    train(makeNet(), planar.X, planar.Y, {
      learningRate: 1,
      iterations: 2,
      onProgress: (p) => (saved ??= p),
    });
    expect(() => saved!.checkpoint()).toThrow(/only valid during the onProgress call/);
  });

  it('stops between iterations when the signal aborts, with a checkpoint', () => {
    const controller = new AbortController();
    const aborted = expectTrainingAborted(() =>
      train(makeNet(), planar.X, planar.Y, {
        learningRate: 1.2,
        iterations: 100,
        costEvery: 5,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.iteration === 15) controller.abort();
        },
      }),
    );
    expect(aborted.iteration).toBe(15);
    expect(aborted.checkpoint.startIteration).toBe(15);
    expect(aborted.costIterations).toEqual([0, 5, 10, 15]);
  });

  it('takes any object with an aborted getter (e.g. reading shared memory in a worker thread)', () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let checks = 0;
    const signal = {
      get aborted() {
        checks += 1;
        if (checks === 4) Atomics.store(flag, 0, 1);
        return Atomics.load(flag, 0) === 1;
      },
    };
    expect(() => train(makeNet(), planar.X, planar.Y, { learningRate: 1, iterations: 10, signal })).toThrow(
      /aborted at iteration 3/,
    );
  });

  it('throws DivergenceError naming the iteration and suggesting a lower learning rate', () => {
    // Linear regression with a learning rate far beyond 2/λmax: the weights oscillate and blow up.
    const rng = new Rng(3);
    const X = zeros(3, 50);
    for (let k = 0; k < X.data.length; k++) X.data[k] = 10 * rng.normal();
    const Y = zeros(1, 50);
    for (let k = 0; k < 50; k++) Y.data[k] = rng.normal();
    const net = Network.create({ inputSize: 3, layers: [{ units: 1, activation: 'linear' }], seed: 1 });
    let error: unknown;
    try {
      train(net, X, Y, { learningRate: 5, iterations: 10_000, costEvery: 100 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DivergenceError);
    const d = error as DivergenceError;
    expect(d.iteration).toBeGreaterThan(0);
    expect(d.iteration).toBeLessThan(10_000);
    expect(Number.isFinite(d.cost)).toBe(false);
    expect(d.message).toMatch(
      new RegExp(`at iteration ${d.iteration}: training diverged; try a lower learning rate \\(it is 5\\)`),
    );
    expect(d.costs[0]).toBeGreaterThan(0);
  });
});

describe('mini-batches and optimisers', () => {
  it('epochs × batches per epoch updates, the last batch smaller', () => {
    const r = train(makeNet(), planar.X, planar.Y, {
      learningRate: 0.5,
      epochs: 3,
      batchSize: 64,
      costEvery: 7,
    });
    expect(r.plannedIterations).toBe(3 * 7); // ceil(400 / 64) = 7 batches per epoch
    expect(r.iterations).toBe(21);
    expect(r.costIterations).toEqual([0, 7, 14, 21]);
  });

  it('mini-batch SGD, momentum and Adam all learn the planar data', () => {
    for (const optimizer of ['gd', 'momentum', 'adam'] as const) {
      const net = makeNet();
      const learningRate = optimizer === 'adam' ? 0.01 : 0.5;
      const r = train(net, planar.X, planar.Y, {
        learningRate,
        epochs: 300,
        batchSize: 64,
        optimizer,
        seed: 3,
      });
      expect(r.costs.at(-1), optimizer).toBeLessThan(0.4);
      expect(net.accuracy(planar.X, planar.Y), optimizer).toBeGreaterThan(0.85);
    }
  });

  it('a batchSize of at least m is full-batch gradient descent', () => {
    const a = makeNet();
    const b = makeNet();
    train(a, planar.X, planar.Y, { learningRate: 1.2, iterations: 5 });
    train(b, planar.X, planar.Y, { learningRate: 1.2, iterations: 5, batchSize: 1000 });
    expect(bits(a.weights.W[1]!.data)).toBe(bits(b.weights.W[1]!.data));
  });
});

describe('validation split and early stopping', () => {
  function overfitting(): { X: Matrix; Y: Matrix } {
    // Few noisy samples and a big network: the validation cost turns up while training goes on.
    const rng = new Rng(9);
    const m = 60;
    const X = zeros(2, m);
    const Y = zeros(1, m);
    for (let j = 0; j < m; j++) {
      X.data[j] = rng.normal();
      X.data[m + j] = rng.normal();
      Y.data[j] = X.data[j]! + 0.5 * rng.normal() > 0 ? 1 : 0;
    }
    return { X, Y };
  }
  const big = () =>
    Network.create({
      inputSize: 2,
      layers: dense([40, 'relu'], [40, 'relu'], [1, 'sigmoid']),
      init: 'he',
      seed: 4,
    });

  it('records validation costs beside the training costs', () => {
    const { X, Y } = overfitting();
    const r = train(big(), X, Y, { learningRate: 0.1, iterations: 50, costEvery: 10, validationSplit: 0.25 });
    expect(r.validationCosts).toHaveLength(r.costs.length);
    expect(r.bestIteration).toBeGreaterThanOrEqual(0);
    expect(r.stoppedEarly).toBe(false);
  });

  it('stops after `patience` evaluations without improvement and restores the best weights', () => {
    const { X, Y } = overfitting();
    const net = big();
    const snapshots = new Map<number, Record<string, Matrix>>();
    const r = train(net, X, Y, {
      learningRate: 0.3,
      iterations: 20_000,
      costEvery: 20,
      validationSplit: 0.3,
      earlyStopping: { patience: 5 },
      onProgress: (p) => snapshots.set(p.iteration, p.checkpoint().parameters),
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.iterations).toBeLessThan(20_000);
    expect(r.iterations).toBe(r.bestIteration! + 5 * 20);
    const lowest = Math.min(...r.validationCosts);
    expect(r.bestValidationCost).toBe(lowest);
    expect(r.validationCosts[r.costIterations.indexOf(r.bestIteration!)]).toBe(lowest);
    const best = snapshots.get(r.bestIteration!)!;
    for (const [key, M] of Object.entries(net.parameterMatrices()))
      expect(bits(M.data)).toBe(bits(best[key]!.data));
    expect(r.finalCost).toBe(r.costs[r.costIterations.indexOf(r.bestIteration!)]);
  });

  it('names its split: disjoint ascending sets of every sample, sized as planUpdates, costed as recorded', () => {
    const { X, Y } = overfitting();
    const options = {
      learningRate: 0.1,
      epochs: 3,
      batchSize: 8,
      costEvery: 5,
      validationSplit: 0.3,
      seed: 11,
    };
    const net = big();
    const r = train(net, X, Y, options);
    const plan = planUpdates(X.cols, options);
    const { training, validation } = r.split!;
    expect(training).toHaveLength(plan.trainSamples);
    expect(validation).toHaveLength(plan.validationSamples);
    const all = [...training, ...validation].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: X.cols }, (_, j) => j)); // disjoint, and every sample
    for (const set of [training, validation]) expect([...set]).toEqual([...set].sort((a, b) => a - b));
    // The recorded costs are of these very columns: the last validation cost and the final cost.
    expect(net.cost(selectColumns(X, validation), selectColumns(Y, validation))).toBe(
      r.validationCosts.at(-1),
    );
    expect(net.cost(selectColumns(X, training), selectColumns(Y, training))).toBe(r.finalCost);
    // Drawn from the seed: the same split again, another with another seed; none without a split.
    expect(train(big(), X, Y, { ...options, epochs: 1 }).split).toEqual(r.split);
    expect(train(big(), X, Y, { ...options, epochs: 1, seed: 12 }).split!.validation).not.toEqual(validation);
    expect(train(big(), X, Y, { learningRate: 0.1, iterations: 1 }).split).toBeUndefined();
  });

  it('selectColumns copies the named columns in order and refuses one outside the matrix', () => {
    const M = fromNested([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(toNested(selectColumns(M, [2, 0]))).toEqual([
      [3, 1],
      [6, 4],
    ]);
    expect(() => selectColumns(M, [3])).toThrow(/selectColumns: column 3 is not in 0\.\.2/);
  });

  it('early stopping without a validation split is refused', () => {
    expect(() =>
      train(makeNet(), planar.X, planar.Y, {
        learningRate: 1,
        iterations: 1,
        earlyStopping: { patience: 2 },
      }),
    ).toThrow(NnInputError);
  });
});
