/**
 * A training run on several threads: helpers started for the run (threads.ts) and the network's
 * parameters moved into shared memory for its length. By default each update's samples are
 * shared out (train-parallel.ts); `parallelSettings.split = 'rows'` splits each large product by
 * rows of its output instead (kernels-parallel.ts), with the run's matrices in shared memory.
 */
import { kernels, setKernels } from './kernels.ts';
import { kernelName, parallelKernels, parallelSettings } from './kernels-parallel.ts';
import type { Matrix } from './matrix.ts';
import type { Network } from './network.ts';
import { type Memory, privateMemory, sharedCopy, sharedMemory } from './shared-memory.ts';
import { ThreadPool, threadSpawner } from './threads.ts';
import { fail } from './validate.ts';

/** How a run on several threads keeps its matrices, and the pool its passes over samples use. */
export interface ThreadedRun {
  readonly memory: Memory;
  /** The helpers that take blocks of each update's samples (null: the kernels split products). */
  readonly samples: ThreadPool | null;
}

/** Run `body` with `threads` threads; the helpers end when it returns or throws. */
export function withThreads<T>(net: Network, threads: number, body: (run: ThreadedRun) => T): T {
  const spawn = threadSpawner();
  if (spawn === null) fail('train: threads > 1 needs setThreadSpawner');
  const inner = kernels();
  const name = kernelName(inner);
  // A caller's own kernels cannot be named to a helper: they run on this thread alone.
  if (name === null) return body({ memory: privateMemory, samples: null });
  const pool = new ThreadPool(threads - 1, name, spawn);
  const { W, b } = net.weights;
  const own: { W: Matrix; b: Matrix }[] = [];
  for (let l = 1; l < W.length; l++) {
    own[l] = { W: W[l]!, b: b[l]! };
    W[l] = sharedCopy(W[l]!);
    b[l] = sharedCopy(b[l]!);
  }
  const rows = parallelSettings.split === 'rows';
  if (rows) setKernels(parallelKernels(pool, inner));
  try {
    return body(rows ? { memory: sharedMemory, samples: null } : { memory: privateMemory, samples: pool });
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
