// The pool's limits and failure handling (RELIABILITY.md P14, scenarios 10 to 12).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

let t: TestDatabase;
const clients: Db[] = [];
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(clients.map((db) => db.$disconnect()));
  await t.drop();
});

function client(options: Omit<Parameters<typeof createDb>[0], 'databaseUrl'>): Db {
  const db = createDb({ databaseUrl: t.url, ...options });
  clients.push(db);
  return db;
}

async function terminateOtherSessions(db: Db): Promise<number> {
  const rows = await db.$queryRaw<{ terminated: boolean }[]>`
    SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'backprop'`;
  return rows.length;
}

describe('createDb', () => {
  it('survives connections terminated by the server, idle or busy, and keeps working', async () => {
    const errors: Error[] = [];
    const db = client({ poolMax: 3, onConnectionError: (error) => errors.push(error) });
    const admin = client({ poolMax: 1 });
    // three idle connections in the pool
    await Promise.all([1, 2, 3].map(() => db.$executeRaw`SELECT pg_sleep(0.05)`));
    expect(await terminateOtherSessions(admin)).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors.length).toBeGreaterThan(0); // reported, not thrown: the process is still here

    // a busy connection: its query fails, the next one succeeds
    // Prisma queries are lazy: .then() sends them
    const busy = db.$executeRaw`SELECT pg_sleep(5)`.then(
      () => 'finished',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await terminateOtherSessions(admin);
    expect(await busy).toBeInstanceOf(Error);
    expect(await db.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });

  it('fails fast when no connection is free instead of waiting forever', async () => {
    const db = client({ poolMax: 1, connectionTimeoutMillis: 300 });
    const holder = db.$executeRaw`SELECT pg_sleep(1.5)`.then((count) => count);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await expect(db.$queryRaw`SELECT 1`).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_200);
    await holder;
  });

  it('fails fast when the server is unreachable', async () => {
    const url = new URL(t.url);
    url.port = '1'; // nothing listens there
    const db = createDb({ databaseUrl: url.toString(), connectionTimeoutMillis: 500 });
    clients.push(db);
    const started = Date.now();
    await expect(db.$queryRaw`SELECT 1`).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('cancels statements that exceed statementTimeoutMillis', async () => {
    const db = client({ poolMax: 1, statementTimeoutMillis: 200 });
    await expect(db.$executeRaw`SELECT pg_sleep(2)`).rejects.toThrow(
      /statement timeout|canceling statement/i,
    );
    expect(await db.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });
});
