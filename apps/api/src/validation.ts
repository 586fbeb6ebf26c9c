/** Request parsing that Fastify's defaults get wrong for us: JSON bodies with precise errors. */
import { ApiError } from '@backprop/contracts';

/** Text that may spell a `__proto__` or `constructor` key (also through \u escapes). */
const SUSPECT_KEY = /__proto__|constructor|\\u/;

/**
 * The JSON body parser. Fastify's own answers "not valid JSON" for every failure, a `__proto__`
 * key included; this one says what is wrong: the parser's message, or the poisoned key's path.
 */
export function parseJsonBody(text: string): unknown {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') throw new ApiError('BP_ERR_VALIDATION', 'the body is empty: send a JSON value');
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw new ApiError('BP_ERR_VALIDATION', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (SUSPECT_KEY.test(source)) {
    const path = poisonedKey(value);
    if (path) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `${path}: "__proto__" and "constructor.prototype" keys are not allowed`,
        {
          field: path,
        },
      );
    }
  }
  return value;
}

/** The path of the first `__proto__` or `constructor.prototype` key; iterative, so any depth is fine. */
function poisonedKey(root: unknown): string | null {
  const stack: [unknown, string][] = [[root, 'body']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (key === '__proto__') return `${path}.__proto__`;
      if (
        key === 'constructor' &&
        typeof item === 'object' &&
        item !== null &&
        Object.hasOwn(item, 'prototype')
      ) {
        return `${path}.constructor.prototype`;
      }
      stack.push([item, `${path}.${key}`]);
    }
  }
  return null;
}
