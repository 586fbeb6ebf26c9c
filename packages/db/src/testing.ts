// Test support: a fresh, migrated database per test file, so test files run in parallel without
// seeing each other's rows. Real Postgres, no mocks.
import { randomBytes } from 'node:crypto';
import { createDb, type Db } from './client.ts';
import { dropDatabase, withDatabase } from './databases.ts';
import { DEFAULT_DATABASE_URL, migrate } from './migrate.ts';

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
