/**
 * The helper threads of a training (nn's `threads`): nn does not start threads itself (it runs in
 * browsers too), so the training thread gives it this spawner: a worker_threads Worker of the
 * bundled training-helper.ts (thread-entries.ts), whose messages go to nn's serveThread. A
 * helper lives as long as one train call; when the training thread ends (or is terminated), its
 * helpers end with it.
 */
import { Worker } from 'node:worker_threads';
import { setThreadSpawner } from '@backprop/nn';

/** What training-helper.ts reads from workerData. */
export interface HelperData {
  nice: number;
}

/** Let nn start helper threads of this training thread from `entry`, at the same nice value. */
export function useHelperThreads(entry: string, nice: number): void {
  const url = new URL(entry);
  setThreadSpawner(() => {
    const data: HelperData = { nice };
    return new Worker(url, { workerData: data });
  });
}
