/**
 * The helper's side of threads.ts: a thread started by the platform's ThreadSpawner hands each
 * message it receives to `serveThread`. A session message makes it serve products (rows of them,
 * product-rows.ts) from the shared control block until the calling thread ends the session; it
 * blocks in Atomics.wait meanwhile, so it takes no CPU between products.
 */
import { outputActivationOf } from './architecture.ts';
import { backwardPropagation } from './backward.ts';
import { COSTS } from './costs.ts';
import { forwardPropagation } from './forward.ts';
import { kernelsNamed, T_OP, T_R0, T_R1, taskOperand } from './kernels-parallel.ts';
import type { Matrix } from './matrix.ts';
import { MATMUL, MATMUL_TRANS_A, MATMUL_TRANS_B, productRows } from './product-rows.ts';
import {
  COMMAND,
  DONE,
  END,
  ERROR,
  type PassSetup,
  READY,
  SEQ,
  type SessionMessage,
  slotIndex,
  TASK,
  TASK_SIZE,
} from './threads.ts';
import { PASS, T_COLUMNS, T_X, T_Y } from './train-parallel.ts';
import { createWorkspace, type Weights, type Workspace } from './workspace.ts';

/**
 * The forward and backward passes over a block of samples (train-parallel.ts): this helper's
 * block cost and mean gradients (without λ) go to its slot's output buffers.
 */
function passOver(setup: PassSetup, buffers: readonly SharedArrayBuffer[], slot: number) {
  const { inputSize, layers, float32 } = setup;
  const L = layers.length;
  const view = (buffer: number, rows: number, cols: number): Matrix => ({
    rows,
    cols,
    data: float32
      ? new Float32Array(buffers[buffer]!, 0, rows * cols)
      : new Float64Array(buffers[buffer]!, 0, rows * cols),
  });
  const sizes = [inputSize, ...layers.map((l) => l.units)];
  const empty: Matrix = { rows: 0, cols: 0, data: new Float64Array(0) };
  const weights: Weights = {
    W: [empty, ...setup.W.map((B, l) => view(B, sizes[l + 1]!, sizes[l]!))],
    b: [empty, ...setup.b.map((B, l) => view(B, sizes[l + 1]!, 1))],
  };
  const out = setup.outputs[slot - 1]!;
  const dW = out.dW.map((B, l) => view(B, sizes[l + 1]!, sizes[l]!));
  const db = out.db.map((B, l) => view(B, sizes[l + 1]!, 1));
  const cost = new Float64Array(buffers[out.cost]!, 0, 1);
  const costOf = COSTS[outputActivationOf(layers)].cost;
  const dtype = float32 ? 'float32' : 'float64';
  const workspaces = new Map<number, Workspace>();
  return (x: number, y: number, m: number) => {
    let ws = workspaces.get(m);
    if (ws === undefined) {
      ws = createWorkspace(inputSize, layers, m, dtype, true);
      workspaces.set(m, ws);
    }
    const X = view(x, inputSize, m);
    const Y = view(y, sizes[L]!, m);
    forwardPropagation(X, weights, layers, ws);
    cost[0] = costOf(ws.Z[L]!, ws.A[L]!, Y);
    backwardPropagation(Y, weights, layers, ws, 0);
    for (let l = 1; l <= L; l++) {
      dW[l - 1]!.data.set(ws.dW[l]!.data);
      db[l - 1]!.data.set(ws.db[l]!.data);
    }
  };
}

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
  const pass = message.pass === null ? null : passOver(message.pass, buffers, slot);
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
    if (op === PASS && pass !== null) {
      try {
        pass(task[T_X]!, task[T_Y]!, task[T_COLUMNS]!);
      } catch {
        Atomics.store(control, slotIndex(slot, ERROR), 1);
      }
    } else if (op === MATMUL || op === MATMUL_TRANS_B || op === MATMUL_TRANS_A) {
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
