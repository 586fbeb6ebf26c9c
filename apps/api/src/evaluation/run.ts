/**
 * Runs evaluateModel where it does not hold the event loop: on the main thread when the forward
 * pass is small (below THREAD_FROM_ACTIVATIONS values), else in a fresh worker thread with a
 * bounded heap (EVALUATION_THREAD_HEAP_MB), at most one per core at a time. The inputs are
 * bounded before this by LIMIT_ACTIVATION_VALUES (samples × Σ units of the forward pass).
 */
import { ApiError, EvaluationMetrics } from '@backprop/contracts';
import { ownBuffer, runWorkerThread } from '../threads/run.ts';
import { type EvaluationInput, evaluateModel } from './evaluate.ts';

const ENTRY = new URL('./evaluation-thread.ts', import.meta.url).href;

/** Below this many activation values, a thread's start (tens of ms) costs more than the work. */
const THREAD_FROM_ACTIVATIONS = 200_000;

let threadsStarted = 0;

/** How many evaluation threads this process started (what tests observe to see where work ran). */
export function evaluationThreadsStarted(): number {
  return threadsStarted;
}

/** `activations`: samples × Σ units, the size of the forward pass. */
export async function runEvaluation(
  input: EvaluationInput,
  activations: number,
  heapMb: number,
): Promise<EvaluationMetrics> {
  if (activations < THREAD_FROM_ACTIVATIONS) return evaluateModel(input);
  return EvaluationMetrics.parse(await inThread(input, heapMb));
}

async function inThread(input: EvaluationInput, heapMb: number): Promise<unknown> {
  const x = ownBuffer(input.x);
  const targets = ownBuffer(input.targets);
  const request: EvaluationInput = {
    ...input,
    x: new Float64Array(x),
    targets: new Float64Array(targets),
  };
  threadsStarted++;
  return runWorkerThread({
    entry: ENTRY,
    request,
    transferList: [x, targets],
    heapMb,
    name: 'evaluation',
    outOfMemory,
  });
}

function outOfMemory(heapMb: number): ApiError {
  return new ApiError(
    'BP_ERR_PAYLOAD_TOO_LARGE',
    `evaluating this model on this dataset needs more memory than EVALUATION_THREAD_HEAP_MB = ${heapMb} allows`,
    { limit: 'EVALUATION_THREAD_HEAP_MB', max: heapMb },
  );
}
