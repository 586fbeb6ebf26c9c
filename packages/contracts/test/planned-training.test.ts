// PlannedTraining is what the worker trusts: a stored plan that lacks a resolved number, mixes
// the options' exclusive choices or carries an unknown key is refused, not trained.
import { describe, expect, it } from 'vitest';
import { PlannedTraining, parsePlannedTraining } from '../src/index.ts';

const run = { samples: 10, validationSamples: 2, trainSamples: 8, batchSize: 8, updates: 5, costPoints: 6 };
const plan = { learningRate: 0.1, iterations: 5, seed: 7, costEvery: 1, validationSplit: 0.2, run };

describe('PlannedTraining', () => {
  it('accepts a resolved plan and fills the options left to their defaults', () => {
    expect(PlannedTraining.parse(plan)).toEqual({
      ...plan,
      optimizer: 'gd',
      l2: 0,
      normalize: 'standard',
    });
  });

  it('needs the seed and costEvery resolved', () => {
    for (const key of ['seed', 'costEvery'] as const) {
      const { [key]: _omitted, ...rest } = plan;
      const result = PlannedTraining.safeParse(rest);
      expect(result.success, key).toBe(false);
      expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual([key]);
    }
  });

  it("keeps the request's rules (exactly one of iterations and epochs) and its strictness", () => {
    expect(PlannedTraining.safeParse({ ...plan, epochs: 2, batchSize: 4 }).error?.issues[0]?.path).toEqual([
      'iterations',
    ]);
    expect(PlannedTraining.safeParse({ ...plan, surprise: 1 }).success).toBe(false);
    expect(PlannedTraining.safeParse({ ...plan, run: { ...run, extra: 1 } }).success).toBe(false);
    expect(PlannedTraining.safeParse({ ...plan, run: { ...run, updates: -1 } }).success).toBe(false);
  });

  it('reads plans stored before the run numbers were (no run)', () => {
    const { run: _run, ...older } = plan;
    expect(PlannedTraining.parse(older).run).toBeUndefined();
  });
});

describe('parsePlannedTraining', () => {
  const initialParameters = { W1: [[0.5, -0.25]], b1: [[0]] };

  it('gives the parsed plan with the very initialParameters it was given, not a copy', () => {
    const parsed = parsePlannedTraining({ ...plan, initialParameters });
    expect(parsed).toEqual(PlannedTraining.parse({ ...plan, initialParameters }));
    expect(parsed.initialParameters).toBe(initialParameters);
  });

  it('refuses what PlannedTraining refuses, in the options and in the parameters', () => {
    expect(() => parsePlannedTraining({ ...plan, initialParameters, surprise: 1 })).toThrow();
    for (const bad of [null, [], { W1: [[Number.NaN]] }, { X1: [[1]] }, { W1: [1] }]) {
      expect(() => parsePlannedTraining({ ...plan, initialParameters: bad })).toThrow(/initialParameters/);
      expect(PlannedTraining.safeParse({ ...plan, initialParameters: bad }).success).toBe(false);
    }
    expect(() => parsePlannedTraining({ ...plan, seed: undefined })).toThrow();
  });
});
