// Creating and dropping whole databases (the migration runner, shadow databases, test databases),
// through the server's maintenance database `postgres`.
import pg from 'pg';

/** The URL of another database on the same server (same credentials and parameters). */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function databaseName(databaseUrl: string): string {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (database === '') throw new Error('the database URL names no database');
  return database;
}

/** Quotes a Postgres identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function withMaintenanceClient<T>(
  databaseUrl: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    connectionString: withDatabase(databaseUrl, 'postgres'),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => {}); // a dropped connection surfaces as a failed query
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the database of `databaseUrl` if it does not exist. Returns true if it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const database = databaseName(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount !== 0) return false;
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
      return true;
    } catch (error) {
      // Another process created it between the check and now: 42P04 duplicate_database, or, when
      // both CREATEs run at once, 23505 unique_violation on the pg_database catalog.
      const code = (error as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw error;
    }
  });
}

/** Drops the database of `databaseUrl` if it exists, closing other sessions on it (Postgres 13+). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const database = databaseName(databaseUrl);
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  });
}
