/**
 * The API, from the browser: every call carries the API key (kept in sessionStorage, so it
 * leaves with the tab) as `Authorization: Bearer`, and every answer is parsed with the
 * contracts' schemas before the page uses it. Errors keep the API's code, message and field.
 */
import { ErrorBody } from '@backprop/contracts';
import type { z } from 'zod';

const KEY_ITEM = 'backprop.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_ITEM);
  else sessionStorage.setItem(KEY_ITEM, key);
}

/** A refused request: the API's error body (or what went wrong before one arrived). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  /** No such route on this API (an older API than the dashboard). */
  get routeMissing(): boolean {
    return this.status === 404 && this.code === 'BP_ERR_NOT_FOUND';
  }
}

function failureOf(status: number, body: unknown): ApiFailure {
  const parsed = ErrorBody.safeParse(body);
  if (!parsed.success) return new ApiFailure(status, 'HTTP', `the API answered ${status}`);
  const { code, message, details } = parsed.data;
  const field =
    details && 'field' in details && typeof details.field === 'string' ? details.field : undefined;
  return new ApiFailure(status, code, message, field);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = storedKey();
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

async function bodyOf(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Calls the API and parses a successful answer with `schema`. */
export async function call<S extends z.ZodType>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  schema: S,
  body?: unknown,
): Promise<z.infer<S>> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = await bodyOf(res);
  if (!res.ok) {
    if (res.status === 401) signedOut.dispatchEvent(new Event('signed-out'));
    throw failureOf(res.status, parsed);
  }
  return schema.parse(parsed);
}

/** Fired when the API refuses the key (revoked, or never valid): the app shows the sign-in. */
export const signedOut = new EventTarget();

/**
 * Uploads a file with XMLHttpRequest, whose upload events report progress (fetch has none),
 * and parses the answer with `schema`.
 */
export function upload<S extends z.ZodType>(
  path: string,
  file: File,
  contentType: string,
  schema: S,
  onProgress: (sent: number, total: number) => void,
): Promise<z.infer<S>> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    for (const [name, value] of Object.entries(headers({ 'content-type': contentType }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener('load', () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: failureOf says what the status was
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        const parsed = schema.safeParse(body);
        if (parsed.success) resolve(parsed.data);
        else reject(new ApiFailure(xhr.status, 'HTTP', 'the API answered with an unexpected body'));
      } else {
        reject(failureOf(xhr.status, body));
      }
    });
    xhr.addEventListener('error', () =>
      reject(new ApiFailure(0, 'NETWORK', 'the upload did not reach the API')),
    );
    xhr.send(file);
  });
}

/** A message for any failure, for the page. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiFailure) return `${err.message} (${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}
