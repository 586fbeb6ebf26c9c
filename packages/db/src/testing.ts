// Test support: a fresh, migrated database per test file, so test files run in parallel without
// seeing each other's rows (real Postgres, no mocks), and the small network the tests train.
import { randomBytes } from 'node:crypto';
import { createDb, type Db } from './client.ts';
import { dropDatabase, withDatabase } from './databases.ts';
import type { Network } from './generated/prisma/client.ts';
import { DEFAULT_DATABASE_URL, migrate } from './migrate.ts';
import { createNetwork } from './networks.ts';
import { DEFAULT_TENANT_ID } from './tenants.ts';

export interface TestDatabase {
  url: string;
  db: Db;
  /** Disconnects the client and drops the database. */
  drop(): Promise<void>;
}

/** The URL of a database named `name` on the server of DATABASE_URL (default: local Postgres). */
export function databaseUrlFor(name: string): string {
  return withDatabase(process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL, name);
}

/** Creates `bp_test_<random>` on the server of DATABASE_URL, applies the migrations, connects. */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const url = databaseUrlFor(`bp_test_${randomBytes(6).toString('hex')}`);
  await migrate(url);
  const db = createDb({ databaseUrl: url, poolMax: options.poolMax ?? 5 });
  return {
    url,
    db,
    async drop() {
      await db.$disconnect();
      await dropDatabase(url);
    },
  };
}

/** A 2-4-1 network of the tenant (tanh, then sigmoid: 17 parameters), small enough to train in a test. */
export async function makeNetwork(db: Db, tenantId = DEFAULT_TENANT_ID): Promise<Network> {
  return createNetwork(db, {
    tenantId,
    name: 'tiny',
    inputSize: 2,
    layers: [
      { units: 4, activation: 'tanh' },
      { units: 1, activation: 'sigmoid' },
    ],
    init: 'xavier',
    parameterCount: 17,
  });
}
