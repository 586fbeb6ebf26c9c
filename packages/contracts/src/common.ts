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

export const Name = z.string().trim().min(1).max(200);

export const Timestamp = z.iso.datetime().describe('ISO 8601 timestamp (UTC)');

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
