/**
 * From raw labels to a task, its classes and the label vector y.
 *
 * Inference, when the client does not name the task:
 * - any label that is not a number → classification over the distinct strings;
 * - numbers that are all 0 or 1 → binary;
 * - integers with at most MAX_INFERRED_CLASSES distinct values (and fewer than half the samples)
 *   → multiclass; two distinct integers → binary;
 * - anything else → regression.
 * Classes are sorted (numbers ascending, strings by code point), and y holds the class index, so
 * labels 0/1 keep their meaning.
 */
import { ApiError, type ClassLabel, limitExceeded, type Task } from '@backprop/contracts';

export const MAX_INFERRED_CLASSES = 20;

export interface EncodedLabels {
  task: Task;
  classes?: ClassLabel[];
  y: Float64Array;
}

export function encodeLabels(
  raw: readonly (string | number)[],
  requested: Task | undefined,
  maxClasses: number,
): EncodedLabels {
  const numeric = raw.map((v) => (typeof v === 'number' ? v : Number(v)));
  const allNumeric = numeric.every(
    (v, i) => Number.isFinite(v) && (typeof raw[i] === 'number' || raw[i] !== ''),
  );
  const task = requested ?? inferTask(raw, numeric, allNumeric);

  if (task === 'regression') {
    if (!allNumeric) {
      const i = numeric.findIndex((v) => !Number.isFinite(v));
      throw new ApiError(
        'BP_ERR_BAD_DATA',
        `task regression needs numeric labels, but label ${i + 1} is "${String(raw[i])}"`,
        {
          field: 'labels',
          index: i,
        },
      );
    }
    return { task, y: Float64Array.from(numeric) };
  }

  const keys: ClassLabel[] = allNumeric ? numeric : raw.map(String);
  const classes = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length > maxClasses)
    throw limitExceeded('LIMIT_CLASSES', classes.length, maxClasses, 'the number of classes');
  if (classes.length < 2) {
    throw new ApiError(
      'BP_ERR_BAD_DATA',
      `classification needs at least 2 classes, but every label is ${String(classes[0])}`,
      {
        field: 'labels',
      },
    );
  }
  if (task === 'binary' && classes.length !== 2) {
    throw new ApiError(
      'BP_ERR_BAD_DATA',
      `task binary needs exactly 2 classes, the labels have ${classes.length}`,
      {
        field: 'labels',
      },
    );
  }
  const index = new Map<ClassLabel, number>(classes.map((c, i) => [c, i]));
  const y = Float64Array.from(keys, (k) => index.get(k)!);
  return { task, classes, y };
}

function inferTask(raw: readonly (string | number)[], numeric: number[], allNumeric: boolean): Task {
  if (!allNumeric) return new Set(raw.map(String)).size === 2 ? 'binary' : 'multiclass';
  const distinct = new Set(numeric).size;
  const integers = numeric.every(Number.isInteger);
  if (integers && distinct <= 2) return 'binary';
  if (integers && distinct <= MAX_INFERRED_CLASSES && distinct * 2 <= numeric.length) return 'multiclass';
  return 'regression';
}
