/**
 * A real API for one test file: its own Postgres database, its own Redis queue prefix, the app
 * built in-process and reached with `inject` (real HTTP parsing, no sockets).
 */
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@backprop/db/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { type ApiEnv, loadApiEnv } from '../src/env.ts';
import { createTrainingQueue } from '../src/queue.ts';

export interface ApiContext {
  app: FastifyInstance;
  env: ApiEnv;
  database: TestDatabase;
  prefix: string;
  close(): Promise<void>;
}

export async function createApiContext(overrides: Record<string, string> = {}): Promise<ApiContext> {
  const database = await createTestDatabase();
  const prefix = `bp-test-${randomBytes(6).toString('hex')}`;
  const env = loadApiEnv({
    ...process.env,
    LOG_LEVEL: 'silent',
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    ...overrides,
  });
  const { queue, redis } = createTrainingQueue(env.REDIS_URL, env.JOB_ATTEMPTS, prefix);
  await queue.waitUntilReady();
  const app = await buildApp({ env, db: database.db, queue, redis });
  return {
    app,
    env,
    database,
    prefix,
    async close() {
      await app.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      redis.disconnect();
      await database.drop();
    },
  };
}

/** The planar "flower" data of the course as CSV text (label,x1,x2). */
export async function planarCsv(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(new URL('../../../data/planar_flower.csv', import.meta.url), 'utf8');
}
