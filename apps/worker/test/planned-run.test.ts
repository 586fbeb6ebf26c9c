// The worker trains a job only if @backprop/nn plans the run the job was created with.
import { planUpdates } from '@backprop/nn';
import { describe, expect, it } from 'vitest';
import { runMismatch } from '../src/planned-run.ts';

const options = { iterations: 50, batchSize: 16, validationSplit: 0.25 };
const plan = planUpdates(100, options);
const stored = {
  samples: 100,
  validationSamples: 25,
  trainSamples: 75,
  batchSize: 16,
  updates: 50,
  costPoints: plan.costPoints,
};

describe('runMismatch', () => {
  it("is null when nn's plan is the stored run", () => {
    expect(runMismatch(stored, plan)).toBeNull();
  });

  it('names the first number that differs, with both values', () => {
    expect(runMismatch({ ...stored, validationSamples: 20, trainSamples: 80 }, plan)).toBe(
      'the job was planned with validationSamples = 20, but @backprop/nn plans validationSamples = 25 for its options',
    );
    expect(runMismatch(stored, planUpdates(100, { ...options, iterations: 60 }))).toMatch(
      /planned with updates = 50, but @backprop\/nn plans updates = 60/,
    );
  });

  it('lets a job stored before the run numbers were through', () => {
    expect(runMismatch(undefined, plan)).toBeNull();
  });
});
