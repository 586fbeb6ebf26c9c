/** Model rows as the API shows them: the stored JSON columns parsed with their contracts. */
import { Metrics, type Model, Normalization, Task } from '@backprop/contracts';
import type { ModelSummary } from '@backprop/db';
import { StoredLayers, StoredTraining, storedClasses } from '../stored.ts';

export function toModel(row: ModelSummary): Model {
  const model: Model = {
    id: row.id,
    jobId: row.jobId,
    inputSize: row.inputSize,
    layers: StoredLayers.parse(row.layers),
    task: Task.parse(row.task),
    metrics: Metrics.parse(row.metrics),
    normalization: Normalization.parse(row.normalization),
    training: StoredTraining.parse(row.job.training),
    createdAt: row.createdAt.toISOString(),
    name: row.name,
    version: row.version,
    tags: row.tags,
  };
  const classes = storedClasses(row.classes);
  if (classes !== undefined) model.classes = classes;
  return model;
}
