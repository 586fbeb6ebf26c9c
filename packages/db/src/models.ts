// Models: the trained weights with what prediction needs (shape, task, classes, normalisation).
// They are created only by completeJob (jobs.ts), once per job, and deleted only by deleteModel.
import type { Model, Prisma } from './generated/prisma/client.ts';
import { type DbOrTx, isUuid } from './internal.ts';
import { tenantLookup } from './tenant-lookup.ts';

/**
 * A model without its parameters, with the resolved training plan of the job that made it (the
 * job's `training` never changes after it is created, and a job cannot be deleted while its model
 * exists, so the plan is the model's for as long as the model lives).
 */
export type ModelSummary = Omit<Model, 'parameters'> & { job: { training: Prisma.JsonValue } };

/** null if missing or another tenant's. */
export const getModel = tenantLookup<ModelSummary>((db, key) =>
  db.model.findFirst({
    where: key,
    omit: { parameters: true },
    include: { job: { select: { training: true } } },
  }),
);

/** The whole model, parameters included (decode them with bytesToFloat64). */
export const getModelWithParameters = tenantLookup<Model>((db, key) => db.model.findFirst({ where: key }));

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
