/**
 * Stored JSON columns, parsed with their contracts on the way out of the database instead of cast:
 * a row written by an older or broken version fails loudly here rather than leaking a wrong shape.
 */
import { ClassLabel, FeatureStat, Layer } from '@backprop/contracts';
import { z } from 'zod';

export const StoredLayers = z.array(Layer);
export const StoredFeatureStats = z.array(FeatureStat);
/**
 * A job's resolved training options as answers show them (their keys vary with the optimiser):
 * the stored PlannedTraining without `run`, the numbers the worker checks its run against.
 */
export const StoredTraining = z.record(z.string(), z.unknown()).transform(({ run: _run, ...shown }) => shown);

/** The cost-history spacing of a job, from its stored plan (PlannedTraining.costEvery). */
export const StoredCostEvery = z.object({ costEvery: z.number().int().min(1) });

/** Classes of a classification, or undefined for a regression (stored as JSON null). */
export function storedClasses(value: unknown): ClassLabel[] | undefined {
  return value === null || value === undefined ? undefined : z.array(ClassLabel).parse(value);
}
