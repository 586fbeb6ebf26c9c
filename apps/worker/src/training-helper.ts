/**
 * A helper thread of a training thread (helper-threads.ts): it shares the training's matrix
 * products through shared memory; every message from the training thread goes to nn.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveThread } from '@backprop/nn';
import { z } from 'zod';
import { lowerOwnPriority } from './thread-priority.ts';

const { nice } = z.object({ nice: z.number().int() }).parse(workerData);
lowerOwnPriority(nice);
parentPort?.on('message', serveThread);
