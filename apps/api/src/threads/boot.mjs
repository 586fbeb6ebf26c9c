// Node 20 does not carry tsx's loader into worker threads: register it here, then load the
// TypeScript entry named by the parent.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
