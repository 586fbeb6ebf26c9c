/**
 * What is stored with a dataset besides its values: the task, the classes and the label vector
 * (labels.ts), and the features' statistics (stats.ts). Labels take hundreds of milliseconds for
 * a big dataset (840,000 labels: 240 ms), so they are encoded in a worker thread; statistics are
 * computed over the stored chunks, one chunk at a time.
 */
import { ClassLabel, type Task } from '@backprop/contracts';
import { z } from 'zod';
import { type EncodedLabels, encodeLabels } from './labels.ts';
import { runUploadThread } from './thread.ts';

/**
 * Below this many labels, a thread's start (tens of ms idle, seconds on a loaded machine) costs
 * more than the work (200,000 labels: about 60 ms).
 */
const OFF_THREAD_LABELS = 200_000;

const Encoded = z.object({
  task: z.enum(['binary', 'multiclass', 'regression']),
  classes: z.array(ClassLabel).optional(),
  y: z.instanceof(Float64Array),
});

/** encodeLabels, in a worker thread for many labels. */
export async function describeLabels(
  labels: readonly (string | number)[],
  task: Task | undefined,
  maxClasses: number,
  threadHeapMb: number,
): Promise<EncodedLabels> {
  if (labels.length < OFF_THREAD_LABELS) return encodeLabels(labels, task, maxClasses);
  const encoded = Encoded.parse(
    await runUploadThread({ kind: 'labels', labels, task, maxClasses }, [], threadHeapMb),
  );
  return { ...encoded, classes: encoded.classes };
}
