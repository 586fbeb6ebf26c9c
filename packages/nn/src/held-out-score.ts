/**
 * The score train records on the held-out samples beside their cost, from the output AL of the
 * forward pass that gave the cost and the targets Y, both (n[L], m):
 *
 *   sigmoid, softmax: accuracy = the share of samples whose predicted label is their label
 *   sigmoid of n[L] > 1 units (independent yes/no outputs, no single label per sample): the share
 *                     of the n[L]·m outputs on the right side of 0.5
 *   linear:           MSE = (1/(n[L]·m)) Σ (AL − Y)²
 */
import type { OutputActivationName } from './activations.ts';
import type { Matrix } from './matrix.ts';
import { accuracy, labelsFromTargets, predictLabels } from './predict.ts';

export type HeldOutScore = { readonly accuracy: number } | { readonly mse: number };

export function heldOutScore(AL: Matrix, Y: Matrix, output: OutputActivationName): HeldOutScore {
  if (output === 'sigmoid' && AL.rows > 1) return { accuracy: entryAccuracy(AL, Y) };
  if (output !== 'linear') {
    return { accuracy: accuracy(predictLabels(AL, output), labelsFromTargets(Y, output)) };
  }
  let sum = 0;
  for (let i = 0; i < AL.data.length; i++) sum += (AL.data[i]! - Y.data[i]!) ** 2;
  return { mse: sum / AL.data.length };
}

/** Independent sigmoid outputs: the share of the n[L]·m entries with AL > 0.5 exactly where Y is 1. */
function entryAccuracy(AL: Matrix, Y: Matrix): number {
  let right = 0;
  for (let i = 0; i < AL.data.length; i++) if (AL.data[i]! > 0.5 === Y.data[i]! > 0.5) right++;
  return right / AL.data.length;
}
