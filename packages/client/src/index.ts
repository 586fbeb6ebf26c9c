export {
  BackpropClient,
  type ClientOptions,
  type PageOptions,
  type RequestOptions,
  type UploadCsvOptions,
} from './client.ts';
export { BackpropError } from './errors.ts';
export type { JobEventsOptions } from './events.ts';
export { DEFAULT_RETRY, type RetryOptions, retryAfterMs } from './retry.ts';
