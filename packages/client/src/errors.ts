/** What the client throws: the API's error body (packages/contracts ErrorBody), or a client-side failure. */
import { ErrorBody } from '@backprop/contracts';

export class BackpropError extends Error {
  override readonly name = 'BackpropError';
  constructor(
    /** The HTTP status, or 0 when no answer came (network failure, unreadable answer). */
    readonly status: number,
    /** The API's error code (BP_ERR_…), or a client code (BP_CLIENT_…). */
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The BackpropError an unsuccessful answer stands for. */
export async function errorFromResponse(response: Response): Promise<BackpropError> {
  const text = await response.text().catch(() => '');
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: reported below with the status and the text
  }
  const body = ErrorBody.safeParse(json);
  if (body.success) {
    return new BackpropError(response.status, body.data.code, body.data.message, body.data.details);
  }
  return new BackpropError(
    response.status,
    'BP_CLIENT_HTTP_ERROR',
    `HTTP ${response.status}: ${text.slice(0, 500) || response.statusText}`,
  );
}
