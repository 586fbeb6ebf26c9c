// Helpers shared by the repositories: id checks, error classification, JSON guards (pagination: page.ts).

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
