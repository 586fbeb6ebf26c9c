/** Validation outside the route schema (bodies whose schema depends on the content type). */
import { ApiError } from '@backprop/contracts';
import type { z } from 'zod';

/** Parses `value` or throws the same 400 the route schemas give: field paths and reasons. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new ApiError('BP_ERR_VALIDATION', issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
    issues,
  });
}
