/**
 * The helper threads of a training (nn's `threads`): nn does not start threads itself (it runs in
 * browsers too), so the training thread gives it this spawner: a worker_threads Worker, booted
 * like the training thread (thread-boot.mjs: tsx's loader, then the TypeScript entry), whose
 * messages go to nn's serveThread (training-helper.ts). A helper lives as long as one train call;
 * when the training thread ends (or is terminated), its helpers end with it.
 */
import { Worker } from 'node:worker_threads';
import { setThreadSpawner } from '@backprop/nn';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./training-helper.ts', import.meta.url).href;

/** What training-helper.ts reads from workerData. */
export interface HelperData {
  entry: string;
  nice: number;
}

/** Let nn start helper threads of this training thread, at the same nice value. */
export function useHelperThreads(nice: number): void {
  setThreadSpawner(() => {
    const data: HelperData = { entry: ENTRY, nice };
    return new Worker(BOOT, { workerData: data });
  });
}
