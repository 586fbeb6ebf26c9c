/** How many threads one training uses (nn's `threads`): the plan's, within this worker's cap. */
import { availableParallelism } from 'node:os';
import type { TrainRequest } from './protocol.ts';

/**
 * The most threads one training of this worker uses: WORKER_TRAINING_THREADS, by default this
 * worker's share of the cores (cores / WORKER_CONCURRENCY, at least 1), so that concurrent jobs do
 * not run more threads than there are cores.
 */
export function trainingThreadsCap(env: {
  WORKER_TRAINING_THREADS?: number | undefined;
  WORKER_CONCURRENCY: number;
}): number {
  return (
    env.WORKER_TRAINING_THREADS ?? Math.max(1, Math.floor(availableParallelism() / env.WORKER_CONCURRENCY))
  );
}

/**
 * The threads a training request runs with: its training.threads (1 for plans stored before the
 * option existed), at most its maxThreads. Thread counts differ only in the last digits (about
 * 1e-12 relative: the blocks' gradients are summed in another grouping), so the cap changes the
 * time, not a result that matters.
 */
export function threadsOf(request: Pick<TrainRequest, 'training' | 'maxThreads'>): number {
  return Math.min(request.training.threads ?? 1, request.maxThreads ?? 1);
}
