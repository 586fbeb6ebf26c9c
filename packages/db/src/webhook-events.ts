// The webhook hook of every terminal transition of a job (complete, fail, cancel): the outbox
// rows, written in the transaction that changes the status. Its own module, imported by jobs.ts.
import type { Prisma } from './generated/prisma/client.ts';
import type { DbOrTx } from './internal.ts';

/**
 * One statement for the transaction that ends a job (complete, fail, cancel): if the job is
 * terminal, a delivery for each endpoint of its tenant that subscribes to `job.<status>`, with the
 * event's data as the job ended (its model, its error). Idempotent: the (endpoint, job, event) key
 * makes a replayed transition add nothing, and endpoints registered after the job ended are left
 * out. Run it after the status update, as its own statement, so it sees the new status.
 */
export function recordJobEvents(db: DbOrTx, jobId: string): Prisma.PrismaPromise<number> {
  return db.$executeRaw`
    INSERT INTO "WebhookDelivery" ("endpointId", "jobId", "event", "data", "occurredAt")
    SELECT e."id", j."id", 'job.' || j."status",
           jsonb_strip_nulls(jsonb_build_object(
             'jobId', j."id",
             'status', j."status",
             'modelId', (SELECT m."id" FROM "Model" m WHERE m."jobId" = j."id"),
             'error', CASE WHEN j."status" = 'failed' THEN jsonb_build_object(
                        'code', COALESCE(j."errorCode", 'BP_ERR_TRAINING_FAILED'),
                        'message', COALESCE(j."errorMessage", '')) END)),
           COALESCE(j."finishedAt", now())
    FROM "TrainingJob" j
    JOIN "WebhookEndpoint" e
      ON e."tenantId" = j."tenantId" AND e."disabledAt" IS NULL
     AND ('job.' || j."status") = ANY (e."events")
     AND e."createdAt" <= COALESCE(j."finishedAt", now())
    WHERE j."id" = ${jobId}::uuid AND j."status" IN ('succeeded', 'failed', 'cancelled')
    ON CONFLICT ("endpointId", "jobId", "event") DO NOTHING`;
}
