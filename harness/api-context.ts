/**
 * A real API for one test file: its own Postgres database, its own Redis queue prefix, the app
 * built in-process and reached with `inject` (real HTTP parsing, no sockets). The context owns a
 * tenant and an API key; `app.inject` sends that key unless the request names its own
 * Authorization header, and `anonymous` sends none.
 */
import { randomBytes } from 'node:crypto';
import { createApiKey, createTenant } from '@backprop/db';
import { createTestDatabase, type TestDatabase } from '@backprop/db/testing';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type ApiOptions, createApi } from '../apps/api/src/api.ts';
import { type ApiEnv, loadApiEnv } from '../apps/api/src/env.ts';

export interface ApiContext {
  app: FastifyInstance;
  env: ApiEnv;
  database: TestDatabase;
  prefix: string;
  tenantId: string;
  apiKey: string;
  /** `inject` without any Authorization header. */
  anonymous(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** A further tenant with its own key, for isolation tests. */
  createTenantKey(name: string): Promise<{ tenantId: string; apiKey: string }>;
  close(): Promise<void>;
}

export async function createApiContext(
  overrides: Record<string, string> = {},
  extra: Pick<ApiOptions, 'logStream'> = {},
): Promise<ApiContext> {
  const database = await createTestDatabase();
  const prefix = `bp-test-${randomBytes(6).toString('hex')}`;
  const env = loadApiEnv({
    ...process.env,
    LOG_LEVEL: 'silent',
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    ...overrides,
  });
  const app = await createApi(env, { db: database.db, ...extra });
  await app.deps.queue.waitUntilReady();
  const createTenantKey = async (name: string) => {
    const tenant = await createTenant(database.db, { name });
    const { key } = await createApiKey(database.db, { tenantId: tenant.id, name: `${name} test key` });
    return { tenantId: tenant.id, apiKey: key };
  };
  const own = await createTenantKey('test-tenant');
  const anonymous = app.inject.bind(app) as (options: InjectOptions) => Promise<LightMyRequestResponse>;
  app.inject = ((options: InjectOptions) =>
    anonymous({
      ...options,
      headers: { authorization: `Bearer ${own.apiKey}`, ...options.headers },
    })) as typeof app.inject;
  return {
    app,
    env,
    database,
    prefix,
    ...own,
    anonymous,
    createTenantKey,
    async close() {
      await app.deps.queue.obliterate({ force: true }).catch(() => undefined);
      await app.close();
      await database.drop();
    },
  };
}

/** Four samples of XOR as a JSON dataset body: the smallest dataset a test can post. */
export const XOR_DATASET = {
  features: [
    [0, 1],
    [1, 0],
    [1, 1],
    [0, 0],
  ],
  labels: [1, 1, 0, 0],
};

/** The planar "flower" data of the course as CSV text (label,x1,x2). */
export async function planarCsv(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(new URL('../data/planar_flower.csv', import.meta.url), 'utf8');
}
