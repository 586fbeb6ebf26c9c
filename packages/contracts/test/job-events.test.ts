import { describe, expect, it } from 'vitest';
import {
  costEvent,
  JobCostEvent,
  JobEvent,
  JobProgressEvent,
  JobStatusEvent,
  progressEvent,
  statusEvent,
} from '../src/index.ts';

const JOB = '00000000-0000-4000-8000-000000000001';

describe('the events whoever changes a job appends', () => {
  it('a status event carries no error and no model unless given, and parses as the contract says', () => {
    const running = statusEvent(JOB, { status: 'running' });
    expect(JobStatusEvent.parse(running)).toEqual({ ...running, error: null, modelId: null });
    const failed = statusEvent(JOB, {
      status: 'failed',
      error: { code: 'BP_ERR_DIVERGED', message: 'the cost became NaN' },
    });
    expect(JobEvent.parse(failed)).toMatchObject({ status: 'failed', error: { code: 'BP_ERR_DIVERGED' } });
  });

  it('a cost that is not finite travels as null (JSON has no NaN); finite ones as they are', () => {
    const point = { index: 3, iteration: 30, cost: Number.NaN, validationCost: Number.POSITIVE_INFINITY };
    expect(JobCostEvent.parse(costEvent(JOB, point))).toEqual({
      type: 'cost',
      jobId: JOB,
      index: 3,
      iteration: 30,
      cost: null,
      validationCost: null,
    });
    expect(costEvent(JOB, { ...point, cost: 0.25, validationCost: null })).toMatchObject({
      cost: 0.25,
      validationCost: null,
    });
    expect(
      JSON.parse(JSON.stringify(costEvent(JOB, { ...point, cost: -0.5, validationCost: 2 }))),
    ).toMatchObject({ cost: -0.5, validationCost: 2 });
  });

  it('a progress event is the report with its job and time', () => {
    const report = {
      iteration: 10,
      iterations: 100,
      cost: 0.5,
      iterationsPerSecond: null,
      elapsedMs: 5,
      etaMs: null,
    };
    const event = JobProgressEvent.parse(progressEvent(JOB, report));
    expect(event).toMatchObject({ type: 'progress', jobId: JOB, ...report });
    expect(Number.isNaN(Date.parse(event.at))).toBe(false);
  });
});
