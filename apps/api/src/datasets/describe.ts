/**
 * What is stored with a dataset besides its values: the task, the classes and the label vector
 * (labels.ts), and the features' statistics (stats.ts). For a big dataset they take hundreds of
 * milliseconds (840,000 labels: 240 ms; 7.5M values: 90 ms), so they run in a worker thread.
 */
import { ClassLabel, FeatureStat, type Task } from '@backprop/contracts';
import { z } from 'zod';
import { encodeLabels } from './labels.ts';
import { featureStats } from './stats.ts';
import { runUploadThread } from './thread.ts';

export interface Labelled {
  featureNames: string[];
  /** samples × features, row per sample. */
  x: Float64Array;
  samples: number;
  labels: readonly (string | number)[];
  task: Task | undefined;
}

export interface Description {
  task: Task;
  classes: ClassLabel[] | undefined;
  y: Float64Array;
  featureStats: FeatureStat[];
}

/** Below this many values plus labels, a thread's start (tens of ms) costs more than the work. */
const OFF_THREAD_VALUES = 200_000;

export function describeDataset(input: Labelled, maxClasses: number): Description {
  const { task, classes, y } = encodeLabels(input.labels, input.task, maxClasses);
  return { task, classes, y, featureStats: featureStats(input.x, input.samples, input.featureNames) };
}

const Described = z.object({
  task: z.enum(['binary', 'multiclass', 'regression']),
  classes: z.array(ClassLabel).optional(),
  y: z.instanceof(Float64Array),
  featureStats: z.array(FeatureStat),
  x: z.instanceof(Float64Array),
});

/**
 * describeDataset, in a worker thread for a big dataset. The features are transferred to the
 * thread and back: use the returned `x`, the input's is detached.
 */
export async function describeUpload(
  input: Labelled,
  maxClasses: number,
  threadHeapMb: number,
): Promise<Description & { x: Float64Array }> {
  if (input.x.length + input.samples < OFF_THREAD_VALUES) {
    return { ...describeDataset(input, maxClasses), x: input.x };
  }
  // The whole buffer goes (CSV features are a view of a bigger one): transferring copies nothing.
  const shared = !(input.x.buffer instanceof ArrayBuffer);
  const buffer = input.x.buffer instanceof ArrayBuffer ? input.x.buffer : new Float64Array(input.x).buffer;
  const x = { buffer, byteOffset: shared ? 0 : input.x.byteOffset, length: input.x.length };
  const result = Described.parse(
    await runUploadThread(
      {
        kind: 'describe',
        x,
        samples: input.samples,
        featureNames: input.featureNames,
        labels: input.labels,
        task: input.task,
        maxClasses,
      },
      [buffer],
      threadHeapMb,
    ),
  );
  return { ...result, classes: result.classes };
}
