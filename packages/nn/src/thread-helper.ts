/**
 * The helper's side of threads.ts: a thread started by the platform's ThreadSpawner hands each
 * message it receives to `serveThread`. A session message makes it serve products (rows of them,
 * product-rows.ts) from the shared control block until the calling thread ends the session; it
 * blocks in Atomics.wait meanwhile, so it takes no CPU between products.
 */
import { kernelsNamed, T_OP, T_R0, T_R1, taskOperand } from './kernels-parallel.ts';
import { MATMUL, MATMUL_TRANS_A, MATMUL_TRANS_B, productRows } from './product-rows.ts';
import {
  COMMAND,
  DONE,
  END,
  ERROR,
  READY,
  SEQ,
  type SessionMessage,
  slotIndex,
  TASK,
  TASK_SIZE,
} from './threads.ts';

function isSessionMessage(message: unknown): message is SessionMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    'type' in message &&
    message.type === 'backprop-nn-session'
  );
}

/**
 * Serve one message from the calling thread; returns when its session ends. Messages that are not
 * nn's are ignored (returns false).
 */
export function serveThread(message: unknown): boolean {
  if (!isSessionMessage(message)) return false;
  const { slot, buffers, generation } = message;
  const control = new Int32Array(message.control);
  const kernels = kernelsNamed(message.kernels);
  const task = control.subarray(slotIndex(slot, TASK), slotIndex(slot, TASK) + TASK_SIZE);
  const done = slotIndex(slot, DONE);
  let seen = Atomics.load(control, SEQ);
  Atomics.store(control, slotIndex(slot, ERROR), 0);
  Atomics.store(control, slotIndex(slot, READY), generation);
  Atomics.notify(control, slotIndex(slot, READY));
  for (;;) {
    Atomics.wait(control, SEQ, seen);
    const seq = Atomics.load(control, SEQ);
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(control, COMMAND) === END) {
      Atomics.store(control, done, seq);
      Atomics.notify(control, done);
      return true;
    }
    const op = Atomics.load(task, T_OP);
    if (op === MATMUL || op === MATMUL_TRANS_B || op === MATMUL_TRANS_A) {
      try {
        const A = taskOperand(task, 0, buffers);
        const B = taskOperand(task, 1, buffers);
        const out = taskOperand(task, 2, buffers);
        productRows(kernels, op, A, B, out, task[T_R0]!, task[T_R1]!);
      } catch {
        Atomics.store(control, slotIndex(slot, ERROR), 1);
      }
    }
    Atomics.store(control, done, seq);
    Atomics.notify(control, done);
  }
}
