/**
 * Runs one training in a fresh worker thread and turns its messages into calls on `handlers`.
 * A fresh thread per job keeps a crash or a memory blow-up of one job from touching the next,
 * and `stop()` ends a CPU-bound loop at once (an AbortSignal would only be seen between awaits).
 */
import { Worker } from 'node:worker_threads';
import {
  CONTROL_CHECKPOINT,
  type ThreadMessage,
  type TrainingThreadData,
  type TrainRequest,
} from './protocol.ts';
import type { ThreadEntries } from './thread-entries.ts';

export type ThreadOutcome =
  | { kind: 'finished' }
  | { kind: 'released' }
  | { kind: 'stopped'; reason: string }
  | { kind: 'crashed'; message: string; code?: string };

export interface ThreadHandle {
  /** Settles when the thread has exited. */
  readonly done: Promise<ThreadOutcome>;
  /** Terminates the thread; `done` resolves with `stopped`. */
  stop(reason: string): Promise<void>;
  /** Asks the thread to checkpoint and stop (graceful shutdown); `done` resolves with `released`. */
  release(): void;
}

export function startTrainingThread(
  entries: ThreadEntries,
  request: TrainRequest,
  onMessage: (message: ThreadMessage) => void,
  maxOldGenerationSizeMb: number,
): ThreadHandle {
  const workerData: TrainingThreadData = { request, helperEntry: entries.helper.href };
  const thread = new Worker(entries.training, {
    workerData,
    transferList: [request.x.buffer as ArrayBuffer, request.y.buffer as ArrayBuffer],
    resourceLimits: { maxOldGenerationSizeMb },
  });
  let stopReason: string | null = null;
  let crash: { message: string; code?: string } | null = null;
  let finished = false;
  let released = false;

  const control = new Int32Array(request.control);
  thread.on('message', (message: ThreadMessage) => {
    if (message.type === 'done' || message.type === 'failed') finished = true;
    if (message.type === 'released') released = true;
    onMessage(message);
  });
  thread.on('error', (err: Error & { code?: string }) => {
    crash = { message: err.message, ...(err.code ? { code: err.code } : {}) };
  });
  const done = new Promise<ThreadOutcome>((resolve) => {
    thread.once('exit', (exitCode) => {
      if (released) resolve({ kind: 'released' });
      else if (stopReason !== null && !finished) resolve({ kind: 'stopped', reason: stopReason });
      else if (crash) resolve({ kind: 'crashed', ...crash });
      else if (!finished)
        resolve({ kind: 'crashed', message: `the training thread exited with code ${exitCode}` });
      else resolve({ kind: 'finished' });
    });
  });
  return {
    done,
    async stop(reason) {
      stopReason ??= reason;
      await thread.terminate();
    },
    release() {
      // The thread is busy in a synchronous loop and cannot read messages: it polls this flag.
      Atomics.store(control, CONTROL_CHECKPOINT, 1);
    },
  };
}
