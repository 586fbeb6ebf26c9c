// Helpers shared by the repositories: id checks, error classification, JSON guards, pagination.

import type { Db } from './client.ts';
import type { Prisma } from './generated/prisma/client.ts';

/** The client or an interactive transaction's client: repositories that need no transaction take either. */
export type DbOrTx = Db | Prisma.TransactionClient;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids are uuid columns: a malformed id cannot match any row, and passing it to Postgres would be
 * an error (invalid input syntax for type uuid), so lookups treat it as "not found" up front.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function prismaCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** P2002: unique constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return prismaCode(error) === 'P2002';
}

/** P2003: foreign key constraint violation. */
export function isForeignKeyViolation(error: unknown): boolean {
  return prismaCode(error) === 'P2003';
}

/**
 * Throws a RangeError if a value bound for a Json column holds a number that is not finite:
 * jsonb would silently store NaN and ±Infinity as null (RELIABILITY.md P15).
 */
export function assertFiniteJson(value: unknown, what: string, path = what): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${path}: ${value} cannot be stored as JSON (${what})`);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertFiniteJson(value[i], what, `${path}[${i}]`);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) assertFiniteJson(item, what, `${path}.${key}`);
  }
}

/** JSON.stringify for a jsonb query parameter, after the finite check. */
export function jsonParam(value: unknown, what: string): string {
  assertFiniteJson(value, what);
  return JSON.stringify(value);
}

/**
 * A double for a raw query parameter, as text. Prisma serialises raw numeric parameters in a way
 * that turns NaN and ±Infinity into NULL without an error; Postgres parses the text forms
 * ('NaN', 'Infinity', '-Infinity', '-0' and the shortest round-trip decimal) back to the same
 * double. Use as `${float8Param(x)}::double precision`.
 */
export function float8Param(value: number | null): string | null {
  if (value === null) return null;
  return Object.is(value, -0) ? '-0' : String(value);
}

export function assertCount(value: number, what: string, { min = 0 } = {}): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${what} must be an integer ≥ ${min}, got ${value}`);
  }
}

// ---- pagination -------------------------------------------------------------------------------

/** Lists are newest first, by (createdAt, id): stable under inserts, unlike offsets. */
export interface PageOptions {
  /** 1..MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE */
  limit?: number;
  /** nextCursor of the previous page; absent or null for the first page */
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  /** pass as `cursor` to get the next page; null on the last page */
  nextCursor: string | null;
}

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

/** A cursor that was not produced by a list function (tampered with, truncated): a client error. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor() {
    super('invalid pagination cursor');
  }
}

interface Cursor {
  createdAt: Date;
  id: string;
}

function encodeCursor({ createdAt, id }: Cursor): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      const createdAt = typeof at === 'string' ? new Date(at) : new Date(Number.NaN);
      if (typeof id === 'string' && isUuid(id) && !Number.isNaN(createdAt.getTime()))
        return { createdAt, id };
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}

/**
 * One page of a newest-first list. `findMany` gets the list's own `where` ANDed with the cursor's
 * condition, the order, and a take of one row more than the page: its presence says whether there
 * is a next page.
 */
export async function findPage<Where extends object, Row extends Cursor>(
  options: PageOptions,
  where: Where,
  findMany: (query: PageArgs<Where>) => Promise<Row[]>,
): Promise<Page<Row>> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE);
  const rows = await findMany(pageArgs(where, options.cursor ? decodeCursor(options.cursor) : null, limit));
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** The findMany arguments of one page (where, order, take), shaped as Prisma's. */
type PageArgs<Where extends object> = ReturnType<typeof pageArgs<Where>>;

function pageArgs<Where extends object>(where: Where, cursor: Cursor | null, limit: number) {
  const after = cursor
    ? {
        OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
      }
    : {};
  return {
    where: { ...where, ...after },
    orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
    take: limit + 1,
  };
}
