/**
 * Models with weights chosen by hand, stored by tests with storeModel (by-hand.ts) so that every
 * weight behind an answer is known.
 */

interface HandModel {
  layers: { units: number; activation: string }[];
  /** W1, b1, ... in the course's layout */
  parameters: Record<string, number[][]>;
}

/** Binary: 2 features → 4 tanh → 1 sigmoid, with the standard normalisation it was "trained" with. */
export const binaryModel: HandModel & { normalization: { kind: string; mean: number[]; std: number[] } } = {
  layers: [
    { units: 4, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
  parameters: {
    W1: [
      [0.5, -0.3],
      [0.8, 0.2],
      [-0.6, 0.9],
      [0.1, 0.4],
    ],
    b1: [[0.1], [-0.2], [0.05], [0]],
    W2: [[1.5, -2, 0.7, 1.1]],
    b2: [[0.3]],
  },
  normalization: { kind: 'standard', mean: [1, -2], std: [2, 0.5] },
};

/** Three classes: a softmax layer over 2 features. */
export const softmaxModel: HandModel = {
  layers: [{ units: 3, activation: 'softmax' }],
  parameters: {
    W1: [
      [1, 0],
      [0, 1],
      [-1, -1],
    ],
    b1: [[0], [0.5], [0]],
  },
};
