/** What a process asks of Postgres before it relies on it: db owns these queries as every other. */
import type { Db } from './client.ts';

/** Postgres answers a query (the API's readiness check). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}

/**
 * Postgres answers and holds our tables: a wrong DATABASE_URL or an unmigrated database throws a
 * query error here, an unreachable Postgres a connection error (isDatabaseUnavailable).
 */
export async function assertMigrated(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1 FROM "TrainingJob" LIMIT 1`;
}
