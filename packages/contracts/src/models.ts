/** Trained models and predictions. */
import { z } from 'zod';
import { ABORT, FiniteNumber, Id, Timestamp } from './common.ts';
import { ClassLabel, Task } from './datasets.ts';
import { Layer } from './networks.ts';

export const Normalization = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }),
    z.object({ kind: z.literal('standard'), mean: z.array(z.number()), std: z.array(z.number()) }),
    z.object({ kind: z.literal('minmax'), min: z.array(z.number()), max: z.array(z.number()) }),
  ])
  .describe(
    'Applied to raw samples before the forward pass: standard (x-mean)/std, minmax (x-min)/(max-min)',
  );
export type Normalization = z.infer<typeof Normalization>;

/**
 * Feature j of a raw sample as the network sees it: (x − mean)/std or (x − min)/(max − min).
 * Training and prediction both call this, so the two can never disagree.
 */
export function normalizeFeature(normalization: Normalization, j: number, x: number): number {
  switch (normalization.kind) {
    case 'standard':
      return (x - normalization.mean[j]!) / normalization.std[j]!;
    case 'minmax':
      return (x - normalization.min[j]!) / (normalization.max[j]! - normalization.min[j]!);
    case 'none':
      return x;
  }
}

export const Metrics = z.object({
  finalCost: z.number(),
  iterations: z.number().int().describe('Updates made (fewer than planned after early stopping)'),
  trainAccuracy: z.number().optional(),
  validationAccuracy: z.number().optional(),
  trainMse: z.number().optional(),
  validationMse: z.number().optional(),
  validationCost: z.number().optional(),
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
    createdAt: Timestamp,
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
