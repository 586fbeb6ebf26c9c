/** A helper thread of bench-threads.ts: it records its Linux thread id (for its CPU time), then serves nn. */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { serveThread } from '../../src/index.ts';

const tids = new Int32Array(workerData.tids as SharedArrayBuffer);
tids[workerData.slot as number] = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
parentPort?.on('message', serveThread);
