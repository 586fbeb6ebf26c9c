/**
 * Worker-thread entry (started by run.ts): evaluateModel off the API's main thread. Posts a
 * ThreadAnswer (threads/run.ts's shape): the metrics, or the ApiError evaluateModel threw.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ApiError, ClassLabel, Normalization, Task } from '@backprop/contracts';
import { z } from 'zod';
import type { ThreadAnswer } from '../threads/run.ts';
import { evaluateModel } from './evaluate.ts';

/** run.ts's EvaluationInput (typed arrays cross as typed arrays). */
const Request = z.object({
  network: z.instanceof(Uint8Array),
  normalization: Normalization,
  task: Task,
  classes: z.array(ClassLabel).nullable(),
  x: z.instanceof(Float64Array),
  samples: z.number().int(),
  features: z.number().int(),
  targets: z.instanceof(Float64Array),
  maxRocPoints: z.number().int(),
});

function answer(): ThreadAnswer {
  try {
    const request = Request.parse(z.object({ request: z.unknown() }).parse(workerData).request);
    return { ok: true, result: evaluateModel(request) };
  } catch (err) {
    if (err instanceof ApiError) {
      return { ok: false, error: { code: err.code, message: err.message, details: err.details } };
    }
    throw err; // a bug: the thread's 'error' event carries it to the request's 500
  }
}

parentPort?.postMessage(answer());
