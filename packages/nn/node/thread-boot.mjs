// A helper thread of nn's tests: tsx's loader is not carried into worker threads on Node 20, so
// register it, then load the TypeScript entry named by the parent.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
