/** A helper thread (threads.ts): every message goes to nn's serveThread. */
import { parentPort } from 'node:worker_threads';
import { serveThread } from '../src/index.ts';

parentPort?.on('message', serveThread);
