/** The checks every metric makes at its public edge. */
import type { Matrix } from '../matrix.ts';
import { fail } from '../validate.ts';

/** At least one sample, one label per sample, each an integer class index below `classes`. */
export function checkOutputs(AL: Matrix, actual: ArrayLike<number>, classes: number, op: string): void {
  if (AL.cols === 0) fail(`${op}: no samples`);
  if (actual.length !== AL.cols)
    fail(`${op}: AL has ${AL.cols} samples (columns) but actual has ${actual.length} labels`);
  for (let j = 0; j < actual.length; j++) {
    const y = actual[j]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes)
      fail(`${op}: actual[${j}] is ${y} but labels must be integers 0..${classes - 1}`);
  }
}
