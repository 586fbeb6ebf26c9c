/**
 * planUpdates is the one place that decides a run's numbers (split sizes, batches, updates, cost
 * points); train follows it exactly, so anyone planning a job with it (the API) agrees with nn.
 */
import { describe, expect, it } from 'vitest';
import {
  Network,
  NnInputError,
  type PlanOptions,
  planUpdates,
  Rng,
  train,
  type UpdatePlan,
} from '../src/index.ts';
import { dense } from './networks.ts';

/** m samples of 2 features with 0/1 labels, seeded. */
function data(m: number): { X: number[][]; Y: number[][] } {
  const rng = new Rng(m);
  const X = [0, 1].map(() => Array.from({ length: m }, () => rng.uniform() * 2 - 1));
  const Y = [Array.from({ length: m }, (_, j) => (X[0]![j]! > X[1]![j]! ? 1 : 0))];
  return { X, Y };
}

const net = () => Network.create({ inputSize: 2, layers: dense([3, 'tanh'], [1, 'sigmoid']), seed: 1 });

/** What train actually does with these options on m samples. */
function trainedCounts(m: number, options: PlanOptions) {
  const { X, Y } = data(m);
  const progressTotals: number[] = [];
  const result = train(net(), X, Y, {
    learningRate: 0.1,
    seed: 3,
    ...options,
    onProgress: (p) => progressTotals.push(p.iterations),
  });
  return {
    updates: result.iterations,
    planned: result.plannedIterations,
    costs: result.costs.length,
    progressTotals,
  };
}

type Case = [string, number, PlanOptions, Partial<UpdatePlan>];
const cases: Case[] = [
  [
    'the issue: 10 samples, split 0.25, batch 7, 1 epoch: 3 held out, 7 left, one full batch',
    10,
    { validationSplit: 0.25, batchSize: 7, epochs: 1 },
    { validationSamples: 3, trainSamples: 7, batchSize: 7, fullBatch: true, batchesPerEpoch: 1, updates: 1 },
  ],
  [
    'split 0 holds out nothing',
    10,
    { validationSplit: 0, iterations: 4 },
    { validationSamples: 0, trainSamples: 10, batchSize: 10, fullBatch: true, updates: 4 },
  ],
  ['split omitted is split 0', 10, { iterations: 4 }, { validationSamples: 0, trainSamples: 10, updates: 4 }],
  [
    'round(m·split) rounds halves up',
    10,
    { validationSplit: 0.05, iterations: 2 },
    { validationSamples: 1, trainSamples: 9 },
  ],
  [
    'one sample, no split',
    1,
    { iterations: 3 },
    { validationSamples: 0, trainSamples: 1, batchSize: 1, fullBatch: true, batchesPerEpoch: 1, updates: 3 },
  ],
  [
    'one sample, batch 1, 2 epochs',
    1,
    { batchSize: 1, epochs: 2 },
    { trainSamples: 1, batchSize: 1, fullBatch: true, updates: 2 },
  ],
  [
    'a batch larger than the training samples is one full batch',
    10,
    { validationSplit: 0.25, batchSize: 8, epochs: 2 },
    { trainSamples: 7, batchSize: 7, fullBatch: true, batchesPerEpoch: 1, updates: 2 },
  ],
  [
    'a batch equal to the training samples is one full batch',
    12,
    { batchSize: 12, epochs: 3 },
    { batchSize: 12, fullBatch: true, batchesPerEpoch: 1, updates: 3 },
  ],
  [
    'epochs × ⌈train / batch⌉, the last batch smaller',
    10,
    { validationSplit: 0.3, batchSize: 3, epochs: 2 },
    { validationSamples: 3, trainSamples: 7, batchSize: 3, fullBatch: false, batchesPerEpoch: 3, updates: 6 },
  ],
  [
    'iterations are updates, whatever the batches per epoch',
    10,
    { batchSize: 3, iterations: 5 },
    { batchesPerEpoch: 4, updates: 5 },
  ],
  [
    'costEvery defaults to max(1, ⌊N/100⌋): 250 updates, k = 2, J_0..J_250 is 126 points',
    4,
    { iterations: 250 },
    { updates: 250, costEvery: 2, costPoints: 126 },
  ],
  ['costEvery default under 100 updates is 1', 4, { iterations: 5 }, { costEvery: 1, costPoints: 6 }],
  [
    'N not a multiple of k: J_N is recorded too',
    4,
    { iterations: 10, costEvery: 3 },
    { costEvery: 3, costPoints: 5 },
  ],
  ['0 updates record J_0 only', 4, { iterations: 0 }, { updates: 0, costEvery: 1, costPoints: 1 }],
];

describe('planUpdates', () => {
  for (const [name, m, options, expected] of cases) {
    it(`${name}; train makes exactly the planned updates and cost points`, () => {
      const plan = planUpdates(m, options);
      expect(plan).toMatchObject({ samples: m, ...expected });
      expect(plan.validationSamples + plan.trainSamples).toBe(m);
      const trained = trainedCounts(m, options);
      expect(trained.planned).toBe(plan.updates);
      expect(trained.updates).toBe(plan.updates);
      expect(trained.costs).toBe(plan.costPoints);
      expect(trained.progressTotals).toHaveLength(plan.costPoints);
      expect(new Set(trained.progressTotals)).toEqual(new Set([plan.updates]));
    });
  }

  const refused: [string, number, PlanOptions, string, RegExp][] = [
    [
      'a split that holds out no sample',
      10,
      { validationSplit: 0.04, iterations: 1 },
      'validationSplit',
      /validationSplit 0\.04 of 10 samples holds out no sample/,
    ],
    [
      'a split that holds out every sample',
      3,
      { validationSplit: 0.9, iterations: 1 },
      'validationSplit',
      /validationSplit 0\.9 of 3 samples leaves no training sample/,
    ],
    [
      'any split of one sample (rounds to none or all)',
      1,
      { validationSplit: 0.5, iterations: 1 },
      'validationSplit',
      /leaves no training sample/,
    ],
    [
      'any small split of one sample',
      1,
      { validationSplit: 0.2, iterations: 1 },
      'validationSplit',
      /holds out no sample/,
    ],
    ['split 1', 10, { validationSplit: 1, iterations: 1 }, 'validationSplit', /must be below 1/],
    [
      'both iterations and epochs',
      10,
      { iterations: 1, epochs: 1, batchSize: 2 },
      'iterations',
      /give exactly one of iterations or epochs/,
    ],
    ['neither iterations nor epochs', 10, {}, 'iterations', /give exactly one of iterations or epochs/],
    ['a batch of 0', 10, { batchSize: 0, epochs: 1 }, 'batchSize', /batchSize must be at least 1/],
    [
      'a fractional costEvery',
      10,
      { iterations: 3, costEvery: 1.5 },
      'costEvery',
      /costEvery must be a finite integer/,
    ],
    ['no samples', 0, { iterations: 1 }, 'samples', /samples must be at least 1/],
  ];
  for (const [name, m, options, argument, message] of refused) {
    it(`refuses ${name}, naming ${argument}; train refuses it alike`, () => {
      let planError: unknown;
      try {
        planUpdates(m, options);
      } catch (error) {
        planError = error;
      }
      if (!(planError instanceof NnInputError)) throw new Error(`expected an NnInputError, got ${planError}`);
      const error = planError;
      expect(error.argument).toBe(argument);
      expect(error.reason).toMatch(message);
      expect(error.message).toBe(`planUpdates: ${error.reason}`);
      if (m > 0) {
        const { X, Y } = data(m);
        expect(() => train(net(), X, Y, { learningRate: 0.1, ...options })).toThrow(`train: ${error.reason}`);
      }
    });
  }
});
