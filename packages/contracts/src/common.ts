/** Building blocks shared by the resource schemas. */
import { z } from 'zod';

export const Id = z.uuid().describe('A resource id (UUID)');

/** A JSON number that is finite. JSON itself cannot carry NaN or Infinity, but say so anyway. */
export const FiniteNumber = z
  .number()
  .refine(Number.isFinite, { message: 'must be a finite number', abort: true });

/**
 * Checks inside large arrays (rows, cells, labels) abort: with the API's validator (abortEarly),
 * an array then stops at its first bad element instead of collecting one issue per element,
 * which for a 100 MB body of bad cells would be millions of issue objects (RELIABILITY.md P13).
 */
export const ABORT = { abort: true } as const;

/**
 * Characters Postgres cannot keep as sent: NUL (text and jsonb refuse it, SQLSTATE 22021/22P05)
 * and a UTF-16 surrogate without its other half (JSON can spell one, UTF-8 cannot encode it: text
 * would store U+FFFD instead, jsonb refuses it). With the `u` flag a paired surrogate is one code
 * point, so only lone ones are category Cs.
 */
const UNSTORABLE = /[\0\p{Cs}]/u;

/** Why `text` cannot be stored as sent, or null if it can. */
export function unstorableText(text: string): string | null {
  const found = UNSTORABLE.exec(text);
  if (!found) return null;
  const unit = found[0].charCodeAt(0);
  const what = unit === 0 ? 'NUL (U+0000)' : `a lone UTF-16 surrogate (U+${unit.toString(16).toUpperCase()})`;
  return `contains ${what} at position ${found.index}, which cannot be stored`;
}

const STORABLE_MESSAGE = 'must not contain NUL (U+0000) or a lone UTF-16 surrogate: they cannot be stored';

/**
 * Every string the API stores (names, labels, feature names, keys) is a StoredText: refused with
 * a 400 naming the field rather than a database error (500) or a silently altered value.
 */
export const StoredText = z.string().refine((text) => !UNSTORABLE.test(text), {
  message: STORABLE_MESSAGE,
  abort: true,
});

export const Name = StoredText.trim().min(1).max(200);

export const Timestamp = z.iso.datetime().describe('ISO 8601 timestamp (UTC)');

/**
 * When a dataset or network was deleted, null until then: a deleted one stays while finished jobs
 * refer to it; `whatStays` says what remains of it.
 */
export function deletedAt(whatStays: string) {
  return Timestamp.nullable().describe(`Set once deleted: ${whatStays}`);
}

export const IdParams = z.strictObject({ id: Id });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Items per page (1-100)'),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page'),
});

export function page<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  });
}
