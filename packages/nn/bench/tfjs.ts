/**
 * The TensorFlow.js WebAssembly backend (XNNPACK, SIMD) as a peer column of `npm run bench`: the
 * same workload, data and initial weights as nn's float32 rows, the same iteration work (forward,
 * the stable binary cross-entropy read back as a number, backward, the gradient-descent update),
 * written with tfjs ops as numpy_ref.py writes it with numpy. float32 only: the backend has no
 * float64. One thread: in Node the backend loads its single-threaded SIMD binary.
 *
 * @tensorflow/tfjs-core and @tensorflow/tfjs-backend-wasm are dev dependencies of @backprop/nn
 * only (they ship their .wasm in the npm package: nothing is downloaded). When they are missing,
 * `loadTfjs` says so and the bench prints a notice instead of the column.
 */
import { fileURLToPath } from 'node:url';
import type { Matrix } from '../src/index.ts';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor = import('@tensorflow/tfjs-core').Tensor;

export interface TfjsRuntime {
  readonly tf: Tf;
  readonly version: string;
  readonly threads: number;
}

/** The loaded backend, or why it is not there (the packages missing, or the backend failing). */
export async function loadTfjs(): Promise<TfjsRuntime | { error: string }> {
  try {
    const tf = await import('@tensorflow/tfjs-core');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Node: point the backend at its own dist folder (the default is a URL beside the script).
    const dist = fileURLToPath(new URL('.', import.meta.resolve('@tensorflow/tfjs-backend-wasm')));
    wasm.setWasmPaths(dist.endsWith('/') ? dist : `${dist}/`);
    if (!(await tf.setBackend('wasm'))) return { error: 'the wasm backend did not initialise' };
    return { tf, version: tf.version_core, threads: wasm.getThreadsCount() };
  } catch (e) {
    return {
      error: `@tensorflow/tfjs-core / @tensorflow/tfjs-backend-wasm not loadable (${String(e).slice(0, 200)})`,
    };
  }
}

export interface TfjsWorkload {
  readonly activations: readonly string[];
  readonly learningRate: number;
}

/**
 * One training run's state on the backend: parameters as tensors, `iteration()` one full
 * iteration that returns J (read back to JavaScript, as nn's loop reads its cost).
 */
export function tfjsTrainer(
  rt: TfjsRuntime,
  w: TfjsWorkload,
  X: Matrix,
  Y: Matrix,
  W0: readonly Matrix[],
  b0: readonly Matrix[],
): { iteration: () => number; dispose: () => void } {
  const { tf } = rt;
  const t2 = (a: Matrix) => tf.tensor2d(Float32Array.from(a.data), [a.rows, a.cols], 'float32');
  const x = t2(X);
  const y = t2(Y);
  const m = X.cols;
  const L = w.activations.length;
  let W: Tensor[] = W0.map(t2);
  let b: Tensor[] = b0.map(t2);
  const act = (name: string, z: Tensor) =>
    name === 'relu' ? tf.relu(z) : name === 'tanh' ? tf.tanh(z) : tf.sigmoid(z);

  function iteration(): number {
    const out = tf.tidy(() => {
      const A: Tensor[] = [x];
      const Z: Tensor[] = [x];
      for (let l = 1; l <= L; l++) {
        const z = tf.add(tf.matMul(W[l]!, A[l - 1]!), b[l]!);
        Z.push(z);
        A.push(act(w.activations[l - 1]!, z));
      }
      const zL = Z[L]!;
      // J = (1/m)·Σ [max(z, 0) − y·z + log1p(e^(−|z|))]
      const J = tf.div(
        tf.sum(tf.add(tf.sub(tf.relu(zL), tf.mul(y, zL)), tf.log1p(tf.exp(tf.neg(tf.abs(zL)))))),
        m,
      );
      let dZ: Tensor = tf.sub(A[L]!, y);
      const newW: Tensor[] = [...W];
      const newB: Tensor[] = [...b];
      for (let l = L; l >= 1; l--) {
        const dW = tf.div(tf.matMul(dZ, A[l - 1]!, false, true), m);
        const db = tf.div(tf.sum(dZ, 1, true), m);
        let dZPrev: Tensor | undefined;
        if (l > 1) {
          const dA = tf.matMul(W[l]!, dZ, true, false);
          dZPrev =
            w.activations[l - 2] === 'relu'
              ? tf.mul(dA, tf.step(Z[l - 1]!))
              : tf.mul(dA, tf.sub(1, tf.square(A[l - 1]!)));
        }
        newW[l] = tf.sub(W[l]!, tf.mul(w.learningRate, dW));
        newB[l] = tf.sub(b[l]!, tf.mul(w.learningRate, db));
        if (dZPrev !== undefined) dZ = dZPrev;
      }
      return { J, newW, newB };
    });
    for (let l = 1; l <= L; l++) {
      W[l]!.dispose();
      b[l]!.dispose();
    }
    W = out.newW;
    b = out.newB;
    const J = out.J.dataSync()[0]!;
    out.J.dispose();
    return J;
  }
  return {
    iteration,
    dispose: () => {
      for (const t of [x, y, ...W.slice(1), ...b.slice(1)]) t.dispose();
    },
  };
}
