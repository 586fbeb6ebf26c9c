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
  const statementTimeout = options.statementTimeoutMillis ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 10_000,
    statement_timeout: statementTimeout,
    // statement_timeout is enforced by the server: a frozen or partitioned server never sends
    // its error, and a query on an open connection would wait forever. The client gives up a
    // little after the server should have (RELIABILITY.md P14).
    ...(statementTimeout > 0 ? { query_timeout: statementTimeout + 2_000 } : {}),
    keepAlive: true,
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

/** Driver-adapter error kinds that say "the server is not there right now", not "the query is wrong". */
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/** Prisma codes for the same: can't reach, timed out reaching, closed the connection, pool timeout. */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
/** pg messages of errors raised before any server answer (pool or socket). */
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connect ECONNREFUSED',
  "Can't reach database server",
  'Query read timeout',
];

/**
 * True if `error` means Postgres is unreachable or overloaded (down, restarting, connection
 * killed, pool exhausted) rather than that the statement itself is wrong. Such a failure is
 * transient: an API answers 503 (retry later), a worker retries or delays the job instead of
 * failing it. SQLSTATE classes 08 (connection exception) and 57P0x (shutdown, crash, not yet
 * accepting connections) and 53300 (too many connections) count.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const err = e as {
      code?: unknown;
      message?: unknown;
      kind?: unknown;
      meta?: { driverAdapterError?: { cause?: unknown } };
      cause?: unknown;
    };
    if (typeof err.code === 'string') {
      if (UNAVAILABLE_PRISMA_CODES.has(err.code)) return true;
      if (/^(08|57P0[1-3]|53300)/.test(err.code)) return true;
    }
    if (typeof err.kind === 'string' && UNAVAILABLE_KINDS.has(err.kind)) return true;
    if (
      typeof err.message === 'string' &&
      UNAVAILABLE_MESSAGES.some((m) => (err.message as string).includes(m))
    )
      return true;
    e = err.meta?.driverAdapterError?.cause ?? err.cause;
  }
  return false;
}
