// Pagination of the repositories' lists: newest first, by a cursor (createdAt, id).
import { isUuid } from './internal.ts';

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
      const [at, id]: unknown[] = parsed;
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
