/** Model rows as the API shows them. */
import type { ClassLabel, Layer, Metrics, Model, Normalization, Task } from '@backprop/contracts';
import type { ModelSummary } from '@backprop/db';

export function toModel(row: ModelSummary): Model {
  const model: Model = {
    id: row.id,
    jobId: row.jobId,
    inputSize: row.inputSize,
    layers: row.layers as Layer[],
    task: row.task as Task,
    metrics: row.metrics as Metrics,
    normalization: row.normalization as Normalization,
    createdAt: row.createdAt.toISOString(),
  };
  if (Array.isArray(row.classes)) model.classes = row.classes as ClassLabel[];
  return model;
}
