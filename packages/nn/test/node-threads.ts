/**
 * The tests' ThreadSpawner: a worker_threads Worker running thread-entry.ts (as the worker app
 * provides one for its training threads).
 */
import { Worker } from 'node:worker_threads';
import { setThreadSpawner } from '../src/index.ts';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./thread-entry.ts', import.meta.url).href;

/** Helper threads started for a run; the tests count them to see that they end. */
export const started: Worker[] = [];

export function useNodeThreads(): void {
  setThreadSpawner(() => {
    const worker = new Worker(BOOT, { workerData: { entry: ENTRY } });
    started.push(worker);
    return worker;
  });
}
