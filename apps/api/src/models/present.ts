/** Model rows as the API shows them: the stored JSON columns parsed with their contracts. */
import { ClassLabel, Layer, Metrics, type Model, Normalization, Task } from '@backprop/contracts';
import type { ModelSummary } from '@backprop/db';
import { z } from 'zod';

const StoredTraining = z.record(z.string(), z.unknown());

export function toModel(row: ModelSummary): Model {
  const model: Model = {
    id: row.id,
    jobId: row.jobId,
    inputSize: row.inputSize,
    layers: z.array(Layer).parse(row.layers),
    task: Task.parse(row.task),
    metrics: Metrics.parse(row.metrics),
    normalization: Normalization.parse(row.normalization),
    training: StoredTraining.parse(row.job.training),
    createdAt: row.createdAt.toISOString(),
  };
  if (Array.isArray(row.classes)) model.classes = z.array(ClassLabel).parse(row.classes);
  return model;
}
