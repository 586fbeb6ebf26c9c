/** Per-feature statistics of a row-per-sample matrix, stored with the dataset for normalisation. */
import { columnStatistics, type FeatureStat } from '@backprop/contracts';

/**
 * mean, population std, min and max of each column of x (samples × names.length): finite for any
 * finite values (contracts' columnStatistics), so they can always be stored as JSON.
 */
export function featureStats(x: Float64Array, samples: number, names: readonly string[]): FeatureStat[] {
  return columnStatistics(x, samples, names.length).map((stats, j) => ({ name: names[j]!, ...stats }));
}
