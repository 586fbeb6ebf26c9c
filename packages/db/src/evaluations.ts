// Evaluations: a model's metrics on a dataset, computed by the API and written once. They go
// with their model (the foreign key cascades); the dataset may be deleted and they stay.
import type { Db } from './client.ts';
import type { Evaluation, Prisma, Task } from './generated/prisma/client.ts';
import { assertCount, assertFiniteJson, type DbOrTx, isUuid } from './internal.ts';
import { findPage, type Page, type PageOptions } from './page.ts';

/** A stored evaluation (metrics as stored JSON: parse them with the contracts). */
export type EvaluationRow = Evaluation;

export interface CreateEvaluationInput {
  tenantId: string;
  modelId: string;
  datasetId: string;
  task: Task;
  samples: number;
  /** finite numbers only (null where a metric is undefined) */
  metrics: Prisma.InputJsonObject;
  /** the most evaluations a model may keep (LIMIT_MODEL_EVALUATIONS) */
  maxPerModel: number;
}

export type CreateEvaluationResult =
  | { outcome: 'created'; evaluation: Evaluation }
  /** the model already keeps maxPerModel evaluations */
  | { outcome: 'limit'; count: number }
  /** the model is missing or another tenant's (or was deleted meanwhile) */
  | { outcome: 'missing' };

/**
 * Stores an evaluation unless the model already keeps `maxPerModel`. Creations for one model are
 * serialised (the model row is locked), so concurrent ones cannot overshoot.
 */
export async function createEvaluation(
  db: Db,
  input: CreateEvaluationInput,
): Promise<CreateEvaluationResult> {
  assertCount(input.samples, 'samples', { min: 1 });
  assertCount(input.maxPerModel, 'maxPerModel');
  assertFiniteJson(input.metrics, 'metrics');
  if (!isUuid(input.modelId) || !isUuid(input.datasetId)) return { outcome: 'missing' };
  const { maxPerModel, ...data } = input;
  return db.$transaction(async (tx): Promise<CreateEvaluationResult> => {
    const locked = await tx.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "Model" WHERE "id" = ${input.modelId}::uuid AND "tenantId" = ${input.tenantId}::uuid FOR UPDATE`;
    if (locked.length === 0) return { outcome: 'missing' };
    const count = await tx.evaluation.count({ where: { modelId: input.modelId } });
    if (count >= maxPerModel) return { outcome: 'limit', count };
    return { outcome: 'created', evaluation: await tx.evaluation.create({ data }) };
  });
}

/** The model's evaluations, newest first; an empty page if the model is missing or another tenant's. */
export async function listEvaluations(
  db: DbOrTx,
  tenantId: string,
  modelId: string,
  options: PageOptions = {},
): Promise<Page<Evaluation>> {
  if (!isUuid(modelId)) return { items: [], nextCursor: null };
  return findPage(options, { tenantId, modelId }, (page) => db.evaluation.findMany(page));
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

/** Deletes one evaluation of the model; false if missing, of another model or another tenant's. */
export async function deleteEvaluation(
  db: DbOrTx,
  tenantId: string,
  modelId: string,
  id: string,
): Promise<boolean> {
  if (!isUuid(id) || !isUuid(modelId)) return false;
  const { count } = await db.evaluation.deleteMany({ where: { id, tenantId, modelId } });
  return count === 1;
}
