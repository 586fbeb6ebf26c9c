/**
 * Runs one CPU-heavy step of an upload (upload-thread.ts: parsing a big JSON body, or encoding
 * the labels and computing the statistics of a big dataset) in a fresh worker thread, so the API's
 * event loop keeps serving other requests meanwhile. Arguments and results cross as messages:
 * typed arrays are transferred, not copied. A refusal in the thread (an ApiError) is thrown here
 * as the same ApiError. The thread's heap is bounded (UPLOAD_THREAD_HEAP_MB): an
 * upload that needs more is a 413 naming that limit, and only the thread dies, not the API.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ApiError, ERRORS, type ErrorCode } from '@backprop/contracts';
import { z } from 'zod';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./upload-thread.ts', import.meta.url).href;

/** What the thread posts: its result, or the ApiError it threw. */
export const ThreadAnswer = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.custom<ErrorCode>((code) => typeof code === 'string' && Object.hasOwn(ERRORS, code)),
      message: z.string(),
      // the details of an ApiError the thread threw: an object of the catalog's shapes
      details: z.custom<ConstructorParameters<typeof ApiError>[2]>(
        (details) => details === undefined || (typeof details === 'object' && details !== null),
      ),
    }),
  }),
]);
export type ThreadAnswer = z.infer<typeof ThreadAnswer>;

/**
 * At most this many upload threads at once (one per core; more would not run any sooner): a big
 * JSON body can take a gigabyte or two of heap while parsed, and before it was parsed one at a
 * time on the main thread. Further uploads wait for a thread, and the event loop stays free.
 */
const MAX_THREADS = Math.max(1, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function acquire(): Promise<void> {
  if (running < MAX_THREADS) {
    running++;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

/** The thread's result for `request` (unchecked: the caller parses it with its own schema). */
export async function runUploadThread(
  request: object,
  transferList: ArrayBuffer[],
  heapMb: number,
): Promise<unknown> {
  await acquire();
  try {
    return await runThread(request, transferList, heapMb);
  } finally {
    release();
  }
}

function runThread(request: object, transferList: ArrayBuffer[], heapMb: number): Promise<unknown> {
  return runWorkerThread({ entry: ENTRY, request, transferList, heapMb, name: 'upload', outOfMemory });
}

/**
 * One request in a fresh thread of `entry` (started through the tsx bootstrap) with a heap of
 * `heapMb`: its ThreadAnswer's result, its ApiError, or `outOfMemory(heapMb)` when the heap ran out.
 */
export async function runWorkerThread(options: {
  entry: string;
  request: object;
  transferList: ArrayBuffer[];
  heapMb: number;
  name: string;
  outOfMemory: (heapMb: number) => ApiError;
}): Promise<unknown> {
  const { heapMb } = options;
  const thread = new Worker(BOOT, {
    workerData: { entry: options.entry, request: options.request },
    transferList: options.transferList,
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  try {
    const message = await new Promise<unknown>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', (err) => reject(isOutOfMemory(err) ? options.outOfMemory(heapMb) : err));
      thread.once('exit', (code) => reject(new Error(`the ${options.name} thread exited (code ${code})`)));
    });
    const answer = ThreadAnswer.parse(message);
    if (!answer.ok) throw new ApiError(answer.error.code, answer.error.message, answer.error.details);
    return answer.result;
  } finally {
    await thread.terminate();
  }
}

function isOutOfMemory(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ERR_WORKER_OUT_OF_MEMORY';
}

/** The upload's client asked for more than the configured heap: its request, not the API, is at fault. */
function outOfMemory(heapMb: number): ApiError {
  return new ApiError(
    'BP_ERR_PAYLOAD_TOO_LARGE',
    `parsing this upload needs more memory than the limit UPLOAD_THREAD_HEAP_MB = ${heapMb} allows; send a smaller dataset (CSV takes less memory to parse than JSON)`,
    { limit: 'UPLOAD_THREAD_HEAP_MB', max: heapMb },
  );
}

/** The buffer of a typed array, to transfer: its own, or a copy if it shares one (Node's pool). */
export function ownBuffer(view: ArrayBufferView): ArrayBuffer {
  const { buffer } = view;
  if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength)
    return buffer;
  return new Uint8Array(new Uint8Array(buffer, view.byteOffset, view.byteLength)).buffer;
}
