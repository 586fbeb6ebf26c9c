/** Per-feature statistics of a stored dataset, kept with it for normalisation. */
import { blockColumnStatistics, type FeatureStat } from '@backprop/contracts';
import { type DbOrTx, readDatasetChunks } from '@backprop/db';

/**
 * mean, population std, min and max of each feature of a dataset's chunks, read one chunk at a
 * time: finite for any finite values (contracts' statistics), so they can always be stored as
 * JSON, and the same bits as the training thread's columnStatistics over the whole matrix.
 */
export async function storedFeatureStats(
  db: DbOrTx,
  datasetId: string,
  names: readonly string[],
): Promise<FeatureStat[]> {
  const stats = await blockColumnStatistics(
    () => readDatasetChunks(db, datasetId, { reuse: true }),
    names.length,
  );
  return stats.map((column, j) => ({ name: names[j]!, ...column }));
}
