/** Trained models and predictions. */
import { z } from 'zod';
import { ABORT, FiniteNumber, Id, Timestamp } from './common.ts';
import { ClassLabel, Task } from './datasets.ts';
import { Layer } from './networks.ts';
import type { ColumnStatistics } from './statistics.ts';

export const Normalization = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }),
    z.object({ kind: z.literal('standard'), mean: z.array(z.number()), std: z.array(z.number()) }),
    z.object({ kind: z.literal('minmax'), min: z.array(z.number()), max: z.array(z.number()) }),
  ])
  .describe(
    'Applied to raw samples before the forward pass: standard (x-mean)/std, minmax (x-min)/(max-min). A constant feature (std 0, or max = min) is only shifted: x-mean, x-min.',
  );
export type Normalization = z.infer<typeof Normalization>;

/** The normalisation a job trains with, from the statistics of all its dataset's samples. */
export function normalizationFor(
  kind: Normalization['kind'],
  stats: readonly ColumnStatistics[],
): Normalization {
  switch (kind) {
    case 'standard':
      return { kind, mean: stats.map((s) => s.mean), std: stats.map((s) => s.std) };
    case 'minmax':
      return { kind, min: stats.map((s) => s.min), max: stats.map((s) => s.max) };
    case 'none':
      return { kind };
  }
}

/**
 * (x − offset) / divisor for finite inputs, even where x − offset overflows (x = 1.7e308,
 * offset = −1.7e308): halving is exact, so the halved difference gives the same quotient. A
 * divisor of 0 (a constant feature) divides by 1: the feature is only shifted. The result is
 * ±Infinity only where the true value is beyond the largest double.
 */
function shiftAndScale(x: number, offset: number, divisor: number): number {
  const by = divisor === 0 ? 1 : divisor;
  const difference = x - offset;
  if (Number.isFinite(difference)) return difference / by;
  return ((x / 2 - offset / 2) / by) * 2;
}

/**
 * Feature j of a raw sample as the network sees it: (x − mean)/std or (x − min)/(max − min).
 * Training and prediction both call this, so the two can never disagree. For ordinary values it
 * is exactly that formula; it differs only where the formula would overflow or divide by zero.
 */
export function normalizeFeature(normalization: Normalization, j: number, x: number): number {
  switch (normalization.kind) {
    case 'standard':
      return shiftAndScale(x, normalization.mean[j]!, normalization.std[j]!);
    case 'minmax': {
      const min = normalization.min[j]!;
      const max = normalization.max[j]!;
      const range = max - min;
      if (Number.isFinite(range)) return shiftAndScale(x, min, range);
      // max − min overflows (min = −1.7e308, max = 1.7e308): the halved range does not.
      return (x / 2 - min / 2) / (max / 2 - min / 2);
    }
    case 'none':
      return x;
  }
}

export const Metrics = z.object({
  finalCost: z.number(),
  iterations: z.number().int().describe('Updates made (fewer than planned after early stopping)'),
  trainAccuracy: z
    .number()
    .optional()
    .describe(
      'Classification: the share of the training samples predicted right (every sample without a validationSplit; the held-out ones excluded with one)',
    ),
  trainMse: z
    .number()
    .optional()
    .describe(
      'Regression: the mean squared error over the training samples (every sample without a validationSplit; the held-out ones excluded with one)',
    ),
  validationAccuracy: z
    .number()
    .optional()
    .describe('Classification with a validationSplit: the share of the held-out samples predicted right'),
  validationMse: z
    .number()
    .optional()
    .describe('Regression with a validationSplit: the mean squared error over the held-out samples'),
  validationCost: z
    .number()
    .optional()
    .describe('With a validationSplit: the lowest cost recorded on the held-out samples (no L2 term)'),
  bestIteration: z
    .number()
    .int()
    .optional()
    .describe(
      'With a validationSplit: the iteration of that lowest validation cost (with earlyStopping, the parameters are those of this iteration)',
    ),
  stoppedEarly: z
    .boolean()
    .optional()
    .describe(
      'With a validationSplit: whether earlyStopping ended the training before the planned iterations',
    ),
});
export type Metrics = z.infer<typeof Metrics>;

export const Model = z
  .object({
    id: Id,
    jobId: Id,
    inputSize: z.number().int(),
    layers: z.array(Layer),
    task: Task,
    classes: z.array(ClassLabel).optional(),
    metrics: Metrics,
    normalization: Normalization,
    training: z
      .record(z.string(), z.unknown())
      .describe(
        'The resolved training plan of the job that made this model (as GET /v1/jobs/{id} shows it): every option with its default filled in, the seed and the optimiser hyper-parameters',
      ),
    createdAt: Timestamp,
    name: z.string().nullable().describe('Its registry name (PATCH /v1/models/{id}), or null'),
    version: z.number().int().nullable().describe('Its version under that name (1, 2, ...), or null'),
    tags: z.array(z.string()),
  })
  .meta({ id: 'Model' });
export type Model = z.infer<typeof Model>;

export const PredictRequest = z
  .strictObject({
    samples: z
      .array(z.array(FiniteNumber).min(1, ABORT))
      .min(1)
      .describe('One row per sample, in raw (dataset) units'),
  })
  .meta({ id: 'PredictRequest' });
export type PredictRequest = z.infer<typeof PredictRequest>;

export const Prediction = z.union([
  z.object({ label: ClassLabel, probabilities: z.array(z.number()) }),
  z.object({ value: z.number() }),
]);
export type Prediction = z.infer<typeof Prediction>;

export const PredictResponse = z.object({ modelId: Id, predictions: z.array(Prediction) });
export type PredictResponse = z.infer<typeof PredictResponse>;
