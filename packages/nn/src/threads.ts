/**
 * Helper threads for one training run, platform-neutral: nn never creates a thread itself (that
 * needs `node:worker_threads` in Node and `Worker` in a browser); the platform gives it a
 * `ThreadSpawner` once (`setThreadSpawner`), and the spawned thread hands every message it
 * receives to `serveThread` (thread-helper.ts).
 *
 * The threads share memory: one control block (an Int32Array over a SharedArrayBuffer) and the
 * SharedArrayBuffers that hold the matrices (shared-memory.ts). A run is one or more *sessions*:
 * a session message lists the buffers, then each helper waits on the control block (Atomics.wait)
 * for tasks, without returning to its event loop, until the session ends. A buffer that appears
 * later (a new mini-batch size) ends the session and starts the next one with the longer list.
 *
 * The calling thread waits with Atomics.wait, which Node allows on every thread and browsers in
 * Web Workers; on a browser's main thread (where it throws) it spins instead.
 */
import type { Layer } from './architecture.ts';
import { fail } from './validate.ts';

/** What nn needs of a thread: a way to send it a message and to end it. */
export interface HelperThread {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Starts one helper thread whose messages go to `serveThread` (Node: a worker_threads Worker). */
export type ThreadSpawner = () => HelperThread;

let spawner: ThreadSpawner | null = null;

/** Give nn the platform's way to start a helper thread (null removes it). */
export function setThreadSpawner(spawn: ThreadSpawner | null): void {
  spawner = spawn;
}

/** The spawner set by `setThreadSpawner`, or null. */
export function threadSpawner(): ThreadSpawner | null {
  return spawner;
}

/** The message that starts a session on a helper; `serveThread` recognises it by `type`. */
export interface SessionMessage {
  readonly type: 'backprop-nn-session';
  readonly control: SharedArrayBuffer;
  readonly buffers: readonly SharedArrayBuffer[];
  /** The helper's slot, 1..helpers (slot 0 is the calling thread). */
  readonly slot: number;
  readonly generation: number;
  /** Which of nn's kernels the products run on, the same as the calling thread's. */
  readonly kernels: KernelName;
  /** For passes over a block of samples (train-parallel.ts): the network and where its parts live. */
  readonly pass: PassSetup | null;
}

/**
 * What a helper needs for forward and backward passes over its block of samples: the layers, and
 * indices into the session's buffers of the parameters and of its slot's outputs.
 */
export interface PassSetup {
  readonly inputSize: number;
  readonly layers: readonly Layer[];
  readonly float32: boolean;
  /** W[l], b[l] for l = 1..L (index l − 1). */
  readonly W: readonly number[];
  readonly b: readonly number[];
  /** Per slot (index slot − 1): its dW[l], db[l] (index l − 1) and its cost (one float64). */
  readonly outputs: readonly {
    readonly dW: readonly number[];
    readonly db: readonly number[];
    readonly cost: number;
  }[];
}

export type KernelName = 'wasm' | 'blocked' | 'reference';

// ---- the control block: Int32 indices ----
/** Incremented by the calling thread for every command. */
export const SEQ = 0;
/** The command of the current SEQ: RUN or END. */
export const COMMAND = 1;
export const RUN = 1;
export const END = 2;
/** Each helper's slot starts at SLOT_BASE + SLOT_SIZE·(slot − 1). */
const SLOT_BASE = 8;
const SLOT_SIZE = 32;
/** In a slot: the last SEQ the helper finished, the generation it is serving, an error flag. */
export const DONE = 0;
export const READY = 1;
export const ERROR = 2;
/** In a slot: the task (kernels-parallel.ts writes and reads it), TASK_SIZE integers. */
export const TASK = 4;
export const TASK_SIZE = 16;

export const slotIndex = (slot: number, field: number) => SLOT_BASE + SLOT_SIZE * (slot - 1) + field;

/** How long the calling thread waits for a helper to start or to answer before it gives up. */
const WAIT_LIMIT_MS = 120_000;
const WAIT_STEP_MS = 100;

let canBlock = true;

/**
 * Wait until control[index] !== value or `ms` pass: Atomics.wait, or a spin where blocking is
 * refused (then returns false: the spin is not a measure of time).
 */
export function waitWhile(control: Int32Array, index: number, value: number, ms: number): boolean {
  if (canBlock) {
    try {
      Atomics.wait(control, index, value, ms);
      return true;
    } catch {
      canBlock = false; // a browser's main thread
    }
  }
  for (let spin = 0; spin < 1_000_000 && Atomics.load(control, index) === value; spin++);
  return false;
}

/** The helper threads of one training run. */
export class ThreadPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (SLOT_BASE + SLOT_SIZE * 64)));
  private readonly threads: HelperThread[] = [];
  private readonly buffers: SharedArrayBuffer[] = [];
  private readonly index = new Map<SharedArrayBuffer, number>();
  private generation = 0;
  private active = false;
  private closed = false;
  private pass: PassSetup | null = null;

  /** Start `helpers` threads (1..63) with the spawner; they are idle until the first task. */
  constructor(
    readonly helpers: number,
    readonly kernels: KernelName,
    spawn: ThreadSpawner,
  ) {
    if (!(Number.isInteger(helpers) && helpers >= 1 && helpers <= 63)) fail(`threads: ${helpers} helpers`);
    try {
      for (let t = 0; t < helpers; t++) this.threads.push(spawn());
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The task area of a helper's slot. */
  task(slot: number): Int32Array {
    const at = slotIndex(slot, TASK);
    return this.control.subarray(at, at + TASK_SIZE);
  }

  /**
   * The index of a shared buffer in the helpers' list, adding it (and starting a new session) if
   * they do not hold it yet.
   */
  bufferIndex(buffer: SharedArrayBuffer): number {
    const known = this.index.get(buffer);
    if (known !== undefined) return known;
    this.index.set(buffer, this.buffers.length);
    this.buffers.push(buffer);
    this.endSession();
    return this.buffers.length - 1;
  }

  /**
   * Run one command: the helpers whose task slots were filled (op ≠ 0) work while the calling
   * thread runs `own`; returns when all are done.
   */
  run(own: () => void): void {
    this.startSession();
    const c = this.control;
    const seq = Atomics.load(c, SEQ) + 1;
    Atomics.store(c, COMMAND, RUN);
    Atomics.store(c, SEQ, seq);
    Atomics.notify(c, SEQ);
    try {
      own();
    } finally {
      this.awaitAll(DONE, seq, 'finish a product');
      for (let t = 1; t <= this.helpers; t++) Atomics.store(c, slotIndex(t, TASK), 0);
    }
    for (let t = 1; t <= this.helpers; t++) {
      if (Atomics.load(c, slotIndex(t, ERROR)) !== 0) fail(`threads: helper thread ${t} failed its task`);
    }
  }

  /** Give the helpers what passes over blocks of samples need (from the next session on). */
  setPass(pass: PassSetup): void {
    this.endSession();
    this.pass = pass;
  }

  /** End the session and the threads. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.endSession();
    } finally {
      for (const thread of this.threads) thread.terminate();
    }
  }

  private startSession(): void {
    if (this.active) return;
    this.generation++;
    for (let t = 1; t <= this.helpers; t++) {
      const message: SessionMessage = {
        type: 'backprop-nn-session',
        control: this.control.buffer as SharedArrayBuffer,
        buffers: this.buffers.slice(),
        slot: t,
        generation: this.generation,
        kernels: this.kernels,
        pass: this.pass,
      };
      this.threads[t - 1]!.postMessage(message);
    }
    this.active = true;
    this.awaitAll(READY, this.generation, 'start');
  }

  private endSession(): void {
    if (!this.active) return;
    this.active = false;
    const c = this.control;
    const seq = Atomics.load(c, SEQ) + 1;
    Atomics.store(c, COMMAND, END);
    Atomics.store(c, SEQ, seq);
    Atomics.notify(c, SEQ);
    this.awaitAll(DONE, seq, 'end a session');
  }

  /** Wait until every helper's `field` holds `value`; a helper that never answers is an error. */
  private awaitAll(field: number, value: number, what: string): void {
    const c = this.control;
    for (let t = 1; t <= this.helpers; t++) {
      const at = slotIndex(t, field);
      for (let waited = 0; ; ) {
        const now = Atomics.load(c, at);
        if (now === value) break;
        if (Atomics.load(c, slotIndex(t, ERROR)) !== 0 && field === READY) {
          fail(`threads: helper thread ${t} could not ${what}`);
        }
        if (waited >= WAIT_LIMIT_MS) {
          throw new Error(`threads: helper thread ${t} did not ${what} within ${WAIT_LIMIT_MS / 1000} s`);
        }
        if (waitWhile(c, at, now, WAIT_STEP_MS)) waited += WAIT_STEP_MS;
      }
    }
  }
}
