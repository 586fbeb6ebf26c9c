// The Prisma client factory: one client (and one pg pool) per process, with explicit limits.
//
// Prisma 7 takes its pool defaults from pg, where connectionTimeoutMillis = 0 means "wait forever"
// for a connection: with Postgres down or the pool exhausted, a request would hang instead of
// failing (RELIABILITY.md P14). Every limit is therefore set here, and pool errors (a connection
// terminated by the server while idle) are handled, since an unhandled 'error' event would crash
// the process.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';

export type Db = PrismaClient;

export interface CreateDbOptions {
  databaseUrl: string;
  /** Connections in the pool (default 10). Budget: processes × poolMax ≤ max_connections − slack. */
  poolMax?: number;
  /** How long a query waits for a free connection or a new one before failing (default 5000 ms). */
  connectionTimeoutMillis?: number;
  /** Idle connections are closed after this long (default 10000 ms). */
  idleTimeoutMillis?: number;
  /** Server-side statement_timeout for every statement (default 30000 ms; 0 disables it). */
  statementTimeoutMillis?: number;
  /** Interactive transactions: wait for a connection (default 5000 ms) and run at most (default 10000 ms). */
  transactionMaxWaitMillis?: number;
  transactionTimeoutMillis?: number;
  /** Called with errors of idle or checked-out connections (default: ignored; queries still fail). */
  onConnectionError?: (error: Error) => void;
}

/** Creates a PrismaClient on its own pg pool. `await db.$disconnect()` closes the pool. */
export function createDb(options: CreateDbOptions): Db {
  const onError = options.onConnectionError ?? (() => {});
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 10_000,
    statement_timeout: options.statementTimeoutMillis ?? 30_000,
    application_name: 'backprop',
  });
  // The adapter also listens, but only from its first connect: this one covers the whole life.
  pool.on('error', onError);
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    onPoolError: onError,
    onConnectionError: onError,
  });
  return new PrismaClient({
    adapter,
    transactionOptions: {
      maxWait: options.transactionMaxWaitMillis ?? 5_000,
      timeout: options.transactionTimeoutMillis ?? 10_000,
    },
  });
}
