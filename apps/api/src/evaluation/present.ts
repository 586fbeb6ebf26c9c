/** Evaluation rows as the API shows them: the stored metrics parsed with their contract. */
import { type Evaluation, EvaluationMetrics, Task } from '@backprop/contracts';
import type { EvaluationRow } from '@backprop/db';

export function toEvaluation(row: EvaluationRow): Evaluation {
  return {
    id: row.id,
    modelId: row.modelId,
    datasetId: row.datasetId,
    task: Task.parse(row.task),
    samples: row.samples,
    metrics: EvaluationMetrics.parse(row.metrics),
    createdAt: row.createdAt.toISOString(),
  };
}
