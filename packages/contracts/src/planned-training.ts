/**
 * A training job's plan: the request's options with every default resolved once, when the job is
 * created, and the numbers of the run they give. The API stores it with the job (its `training`
 * column), the worker parses it with this schema and trains exactly these options, so a retried
 * or resumed attempt trains as the first one did, whatever the defaults of a newer version.
 */
import { z } from 'zod';
import { isParameters, Training } from './jobs.ts';

const count = z.number().int().min(0);

/**
 * The numbers of the run, from @backprop/nn's planUpdates, the function nn's train follows: the
 * API's progress total and work limit, and the worker's check that nn will train this plan.
 */
export const TrainingRun = z.strictObject({
  /** m, every sample of the dataset */
  samples: count.min(1),
  /** round(m · validationSplit), held out */
  validationSamples: count,
  /** m − validationSamples, learned from */
  trainSamples: count.min(1),
  /** samples per update (every training sample for full-batch gradient descent) */
  batchSize: count.min(1),
  /** N, the parameter updates (fewer if early stopping ends the run) */
  updates: count,
  /** entries of the cost history of a run to the end: J_0, J_k, ..., J_N */
  costPoints: count.min(1),
});
export type TrainingRun = z.infer<typeof TrainingRun>;

export const PlannedTraining = Training.safeExtend({
  seed: z.number().int().min(0).max(0xffffffff),
  costEvery: z.number().int().min(1),
  /** absent on jobs created before the plan's numbers were stored */
  run: TrainingRun.optional(),
});
export type PlannedTraining = z.infer<typeof PlannedTraining>;

/**
 * A stored plan parsed with PlannedTraining, except its initialParameters, which are checked in
 * place (isParameters) rather than copied: they can be the bulk of the plan.
 */
export function parsePlannedTraining(stored: unknown): PlannedTraining {
  if (typeof stored !== 'object' || stored === null || !('initialParameters' in stored)) {
    return PlannedTraining.parse(stored);
  }
  const { initialParameters, ...options } = stored;
  if (!isParameters(initialParameters)) {
    throw new z.ZodError([
      {
        code: 'custom',
        path: ['initialParameters'],
        message: 'not valid parameters',
        input: initialParameters,
      },
    ]);
  }
  return { ...PlannedTraining.parse(options), initialParameters };
}
