// Models: the trained weights with what prediction needs (shape, task, classes, normalisation).
// They are created only by completeJob (jobs.ts), once per job, and deleted only by deleteModel.
import type { Model } from './generated/prisma/client.ts';
import { type DbOrTx, isUuid } from './internal.ts';

/** A model without its parameters. */
export type ModelSummary = Omit<Model, 'parameters'>;

const withoutParameters = { parameters: true } as const;

/** null if missing or another tenant's. */
export async function getModel(db: DbOrTx, tenantId: string, id: string): Promise<ModelSummary | null> {
  if (!isUuid(id)) return null;
  return db.model.findFirst({ where: { id, tenantId }, omit: withoutParameters });
}

/** The whole model, parameters included (decode them with bytesToFloat64). */
export async function getModelWithParameters(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<Model | null> {
  if (!isUuid(id)) return null;
  return db.model.findFirst({ where: { id, tenantId } });
}

/**
 * Deletes a model (its parameters are freed). Its job stays, succeeded, with no model: a
 * succeeded job without a model had it deleted. Returns false if missing or another tenant's.
 */
export async function deleteModel(db: DbOrTx, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const deleted = await db.$executeRaw`
    DELETE FROM "Model" WHERE "id" = ${id}::uuid AND "tenantId" = ${tenantId}::uuid`;
  return deleted === 1;
}
