// A helper thread of bench-threads.ts: tsx's loader, then the TypeScript entry (Node 20 does not
// carry the loader into worker threads).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
