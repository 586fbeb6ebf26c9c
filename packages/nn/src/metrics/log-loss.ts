/**
 * Log loss (cross-entropy) of predicted probabilities against the actual classes:
 *
 *   logLoss = −(1/m) Σ_j log(clip(p_j))    p_j = the probability given to sample j's actual class
 *
 * clipped to [ε, 1 − ε] with ε = 2⁻⁵² (float64's machine epsilon, sklearn's `eps='auto'`), so a
 * confident wrong answer costs −log(ε) ≈ 36.04 instead of Infinity. For a sigmoid output p is
 * P(class 1): p_j = p for an actual 1, 1 − p for an actual 0 (sklearn's y·log p + (1−y)·log(1−p)).
 */
import type { Matrix } from '../matrix.ts';

export const LOG_LOSS_EPSILON = Number.EPSILON;

const clip = (p: number) => Math.min(Math.max(p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);

/**
 * AL: (1, m) sigmoid probabilities of class 1, or (K, m) softmax probabilities; `actual`: the m
 * class indices (0/1 for a sigmoid output).
 */
export function logLoss(AL: Matrix, actual: ArrayLike<number>): number {
  const { rows: K, cols: m, data } = AL;
  let sum = 0;
  for (let j = 0; j < m; j++) {
    const y = actual[j]!;
    const p = K === 1 ? (y === 1 ? data[j]! : 1 - data[j]!) : data[y * m + j]!;
    sum += Math.log(clip(p));
  }
  return -sum / m;
}
