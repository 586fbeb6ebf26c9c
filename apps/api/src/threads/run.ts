/**
 * The API's CPU-heavy requests (parsing and describing big uploads, evaluations) each run in a
 * fresh worker thread, so the event loop keeps serving other requests meanwhile. Arguments and
 * results cross as messages: typed arrays are transferred, not copied. A refusal in the thread
 * (an ApiError) is thrown here as the same ApiError. The thread's heap is bounded: a request that
 * needs more is the caller's 413 naming its limit, and only the thread dies, not the API.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ApiError, ERRORS, type ErrorCode } from '@backprop/contracts';
import { z } from 'zod';

const BOOT = new URL('./boot.mjs', import.meta.url);

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
 * At most one such thread per core, across every kind (more would not run any sooner): a big
 * JSON body can take a gigabyte or two of heap while parsed. Further requests wait for a slot.
 */
const slots = (() => {
  const max = Math.max(1, availableParallelism());
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<void> {
      if (running < max) {
        running++;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    release(): void {
      const next = waiting.shift();
      if (next) next();
      else running--;
    },
  };
})();

/**
 * One request in a fresh thread of `entry` (started through the tsx bootstrap, boot.mjs) with a heap of
 * `heapMb`, once one of the process's thread slots is free: its ThreadAnswer's result, its ApiError, or `outOfMemory(heapMb)` when the heap ran out.
 */
export async function runWorkerThread(options: {
  entry: string;
  request: object;
  transferList: ArrayBuffer[];
  heapMb: number;
  name: string;
  outOfMemory: (heapMb: number) => ApiError;
}): Promise<unknown> {
  await slots.acquire();
  try {
    return await runThread(options);
  } finally {
    slots.release();
  }
}

async function runThread(options: Parameters<typeof runWorkerThread>[0]): Promise<unknown> {
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

/** The buffer of a typed array, to transfer: its own, or a copy if it shares one (Node's pool). */
export function ownBuffer(view: ArrayBufferView): ArrayBuffer {
  const { buffer } = view;
  if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength)
    return buffer;
  return new Uint8Array(new Uint8Array(buffer, view.byteOffset, view.byteLength)).buffer;
}
