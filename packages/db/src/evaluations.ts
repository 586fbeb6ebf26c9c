// Evaluations: a model's metrics on a dataset, computed by the API and written once. They go
// with their model (the foreign key cascades); the dataset may be deleted and they stay.
import type { Evaluation, Prisma, Task } from './generated/prisma/client.ts';

/** A stored evaluation (metrics as stored JSON: parse them with the contracts). */
export type EvaluationRow = Evaluation;

import {
  assertCount,
  assertFiniteJson,
  type DbOrTx,
  isForeignKeyViolation,
  isUuid,
  type Page,
  type PageOptions,
  pageQuery,
  toPage,
} from './internal.ts';

export interface CreateEvaluationInput {
  tenantId: string;
  /** a model of this tenant (the caller checked) */
  modelId: string;
  datasetId: string;
  task: Task;
  samples: number;
  /** finite numbers only (null where a metric is undefined) */
  metrics: Prisma.InputJsonObject;
}

/** Stores an evaluation; null if the model was deleted meanwhile. */
export async function createEvaluation(db: DbOrTx, input: CreateEvaluationInput): Promise<Evaluation | null> {
  assertCount(input.samples, 'samples', { min: 1 });
  assertFiniteJson(input.metrics, 'metrics');
  if (!isUuid(input.modelId) || !isUuid(input.datasetId)) return null;
  try {
    return await db.evaluation.create({ data: input });
  } catch (error) {
    if (isForeignKeyViolation(error)) return null;
    throw error;
  }
}

/** The model's evaluations, newest first; an empty page if the model is missing or another tenant's. */
export async function listEvaluations(
  db: DbOrTx,
  tenantId: string,
  modelId: string,
  options: PageOptions = {},
): Promise<Page<Evaluation>> {
  if (!isUuid(modelId)) return { items: [], nextCursor: null };
  const page = pageQuery(options);
  const rows = await db.evaluation.findMany({
    where: { tenantId, modelId, ...page.after },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toPage(rows, page.limit);
}

/** One evaluation of the model; null if missing, of another model or another tenant's. */
export async function getEvaluation(
  db: DbOrTx,
  tenantId: string,
  modelId: string,
  id: string,
): Promise<Evaluation | null> {
  if (!isUuid(id) || !isUuid(modelId)) return null;
  return db.evaluation.findFirst({ where: { id, tenantId, modelId } });
}
