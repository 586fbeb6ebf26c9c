/**
 * One CPU-heavy step of an upload (upload-thread.ts: parsing a big JSON body, or encoding the
 * labels and computing the statistics of a big dataset) in its own thread (threads/run.ts), with
 * a heap of UPLOAD_THREAD_HEAP_MB: an upload that needs more is a 413 naming that limit.
 */
import { ApiError } from '@backprop/contracts';
import { runWorkerThread } from '../threads/run.ts';

const ENTRY = new URL('./upload-thread.ts', import.meta.url).href;

/** The thread's result for `request` (unchecked: the caller parses it with its own schema). */
export function runUploadThread(
  request: object,
  transferList: ArrayBuffer[],
  heapMb: number,
): Promise<unknown> {
  return runWorkerThread({ entry: ENTRY, request, transferList, heapMb, name: 'upload', outOfMemory });
}

/** The upload's client asked for more than the configured heap: its request, not the API, is at fault. */
function outOfMemory(heapMb: number): ApiError {
  return new ApiError(
    'BP_ERR_PAYLOAD_TOO_LARGE',
    `parsing this upload needs more memory than the limit UPLOAD_THREAD_HEAP_MB = ${heapMb} allows; send a smaller dataset (CSV takes less memory to parse than JSON)`,
    { limit: 'UPLOAD_THREAD_HEAP_MB', max: heapMb },
  );
}
