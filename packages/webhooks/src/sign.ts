/**
 * The Standard Webhooks signature (spec/standard-webhooks.md, "Signature scheme"): HMAC-SHA256
 * with the secret's decoded bytes over `<webhook-id>.<webhook-timestamp>.<body>`, base64, as
 * `v1,<signature>`. The body signed must be the bytes sent.
 */
import { createHmac } from 'node:crypto';
import { secretKeyBytes } from './secrets.ts';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signatureHeaders(input: {
  id: string;
  /** the attempt's time, in whole seconds since the epoch */
  timestampSeconds: number;
  body: string;
  secret: string;
}): SignedHeaders {
  const timestamp = String(input.timestampSeconds);
  const signature = createHmac('sha256', secretKeyBytes(input.secret))
    .update(`${input.id}.${timestamp}.${input.body}`)
    .digest('base64');
  return {
    'webhook-id': input.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}
