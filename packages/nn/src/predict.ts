/**
 * From outputs to answers: labels, accuracy and the confusion matrix.
 *
 *   sigmoid output (1 unit): label = 1 if AL > 0.5 else 0 (the course's predict)
 *   softmax output:          label = argmax_i AL[i, j], the most probable class
 *   linear output:           no labels; the outputs are the predictions
 */
import type { OutputActivationName } from './activations.ts';
import type { Matrix } from './matrix.ts';
import { fail } from './validate.ts';

/** Labels of the m samples from AL: (n[L], m) → m labels (see the file header). */
export function predictLabels(AL: Matrix, output: OutputActivationName, op = 'predictLabels'): number[] {
  const { rows: n, cols: m, data } = AL;
  const labels = new Array<number>(m);
  if (output === 'sigmoid') {
    if (n !== 1)
      fail(
        `${op}: labels need a sigmoid output of 1 unit (this one has ${n}); use forward() for the probabilities`,
      );
    for (let j = 0; j < m; j++) labels[j] = data[j]! > 0.5 ? 1 : 0;
  } else if (output === 'softmax') {
    for (let j = 0; j < m; j++) {
      let best = 0;
      for (let i = 1; i < n; i++) if (data[i * m + j]! > data[best * m + j]!) best = i;
      labels[j] = best;
    }
  } else {
    fail(`${op}: a linear output has no labels; its outputs (forward()) are the predictions`);
  }
  return labels;
}

/**
 * The labels encoded by targets Y: (n[L], m): the 0/1 row of a sigmoid output, the class of each
 * one-hot column for softmax (its argmax).
 */
export function labelsFromTargets(
  Y: Matrix,
  output: OutputActivationName,
  op = 'labelsFromTargets',
): number[] {
  return predictLabels(Y, output, op);
}

/** The fraction of predicted labels equal to the actual ones, in [0, 1]. */
export function accuracy(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (predicted.length !== actual.length) {
    fail(`accuracy: predicted has ${predicted.length} labels but actual has ${actual.length}`);
  }
  if (actual.length === 0) fail('accuracy: no labels');
  let right = 0;
  for (let j = 0; j < actual.length; j++) if (predicted[j] === actual[j]) right++;
  return right / actual.length;
}

/**
 * counts[a][p] = how many samples of actual class a were predicted as class p (rows: actual,
 * columns: predicted). Labels are integers 0..classes−1; `classes` defaults to the largest label
 * seen + 1 (at least 2).
 */
export function confusionMatrix(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  classes?: number,
): number[][] {
  if (predicted.length !== actual.length) {
    fail(`confusionMatrix: predicted has ${predicted.length} labels but actual has ${actual.length}`);
  }
  let k = classes ?? 2;
  if (classes === undefined) {
    for (let j = 0; j < actual.length; j++) k = Math.max(k, actual[j]! + 1, predicted[j]! + 1);
  }
  if (!Number.isInteger(k) || k < 1) fail(`confusionMatrix: classes must be a positive integer, got ${k}`);
  const counts = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let j = 0; j < actual.length; j++) {
    const a = actual[j]!;
    const p = predicted[j]!;
    for (const [name, v] of [
      ['actual', a],
      ['predicted', p],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= k) {
        fail(`confusionMatrix: ${name}[${j}] is ${v} but labels must be integers 0..${k - 1}`);
      }
    }
    counts[a]![p]! += 1;
  }
  return counts;
}
