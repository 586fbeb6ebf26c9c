/**
 * A training run on several threads: helpers started for the run (threads.ts), the network's
 * parameters moved into shared memory for its length, and the products split by rows
 * (kernels-parallel.ts). Everything else of the loop (element-wise work, the cost, the update)
 * stays on the calling thread, in the same order as with one thread.
 */
import { kernels, setKernels } from './kernels.ts';
import { kernelName, parallelKernels } from './kernels-parallel.ts';
import type { Matrix } from './matrix.ts';
import type { Network } from './network.ts';
import { sharedCopy } from './shared-memory.ts';
import { ThreadPool, threadSpawner } from './threads.ts';
import { fail } from './validate.ts';

/** Run `body` with `threads` threads sharing the products; the helpers end when it returns or throws. */
export function withThreads<T>(net: Network, threads: number, body: () => T): T {
  const spawn = threadSpawner();
  if (spawn === null) fail('train: threads > 1 needs setThreadSpawner');
  const inner = kernels();
  const name = kernelName(inner);
  // A caller's own kernels cannot be named to a helper: they run on this thread alone.
  if (name === null) return body();
  const pool = new ThreadPool(threads - 1, name, spawn);
  const { W, b } = net.weights;
  const own: { W: Matrix; b: Matrix }[] = [];
  for (let l = 1; l < W.length; l++) {
    own[l] = { W: W[l]!, b: b[l]! };
    W[l] = sharedCopy(W[l]!);
    b[l] = sharedCopy(b[l]!);
  }
  setKernels(parallelKernels(pool, inner));
  try {
    return body();
  } finally {
    setKernels(inner);
    // The network keeps its own arrays, holding the trained values.
    for (let l = 1; l < W.length; l++) {
      const mine = own[l]!;
      mine.W.data.set(W[l]!.data);
      mine.b.data.set(b[l]!.data);
      W[l] = mine.W;
      b[l] = mine.b;
    }
    pool.close();
  }
}
