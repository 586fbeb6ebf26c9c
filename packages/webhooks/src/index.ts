// @backprop/webhooks: what the API (registration) and the worker (delivery) share about webhooks:
// the address policy against SSRF, the signing secrets and how they are stored, the signature.
export {
  assertAllowed,
  guardedLookup,
  hostOf,
  RefusedAddressError,
  refusedRange,
  resolveHost,
} from './address-policy.ts';
export {
  DEFAULT_RETRY_SCHEDULE_MS,
  WebhookApiEnvFields,
  WebhookSharedEnvFields,
  WebhookWorkerEnvFields,
} from './env.ts';
export { generateSecret, openSecret, parseSecretKey, sealSecret, secretKeyBytes } from './secrets.ts';
export { type SignedHeaders, signatureHeaders } from './sign.ts';
