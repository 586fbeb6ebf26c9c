/**
 * A ThreadSpawner for Node, for nn's tests and benchmarks: a worker_threads Worker running
 * thread-entry.ts through tsx (the worker app provides its own for its training threads). Node
 * only, so it lives beside src/, which runs in browsers too.
 */
import { Worker } from 'node:worker_threads';
import { setThreadSpawner } from '../src/index.ts';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./thread-entry.ts', import.meta.url).href;

/** Helper threads started so far; the tests count them to see that they end. */
export const started: Worker[] = [];

export function useNodeThreads(): void {
  setThreadSpawner(() => {
    const worker = new Worker(BOOT, { workerData: { entry: ENTRY } });
    started.push(worker);
    return worker;
  });
}
