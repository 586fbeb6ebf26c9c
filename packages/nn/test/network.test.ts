/**
 * The public API in the course's layout, the row-per-sample entry, predictions, initialisation and
 * the numerics of the activations and costs at their edges.
 */
import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS,
  accuracy,
  COSTS,
  confusionMatrix,
  fromRows,
  matrix,
  Network,
  oneHot,
  toNested,
  toRows,
  zeros,
} from '../src/index.ts';
import { PLANAR_LAYERS } from './networks.ts';

const W1 = [
  [0.5, -0.3],
  [0.2, 0.8],
  [-0.7, 0.1],
  [0.4, 0.4],
];
const b1 = [[0.1], [-0.2], [0], [0.05]];
const W2 = [[1, -1, 0.5, 0.25]];
const b2 = [[-0.1]];
const net = () =>
  Network.fromParameters({ inputSize: 2, layers: PLANAR_LAYERS, parameters: { W1, b1, W2, b2 } });
const X = [
  [1, 2, -1],
  [0.5, -1, 3],
];
const Y = [[1, 0, 1]];
/** The same three samples as X, one row each (how HTTP clients send them). */
const SAMPLES = [
  [1, 0.5],
  [2, -1],
  [-1, 3],
];

describe('the course layout', () => {
  it('forward computes AL = σ(W2·tanh(W1·X + b1) + b2), one column per sample', () => {
    const AL = net().forward(X);
    expect(AL).toHaveLength(1);
    expect(AL[0]).toHaveLength(3);
    for (let j = 0; j < 3; j++) {
      const a1 = W1.map((row, i) => Math.tanh(row[0]! * X[0]![j]! + row[1]! * X[1]![j]! + b1[i]![0]!));
      const z2 = a1.reduce((s, a, i) => s + W2[0]![i]! * a, b2[0]![0]!);
      expect(AL[0]![j]).toBeCloseTo(1 / (1 + Math.exp(-z2)), 15);
    }
  });

  it('a Matrix in gives a Matrix out, nested in gives nested out', () => {
    const out = net().forward(fromRows(toRows(matrix(2, 3, new Float64Array(X.flat())))));
    expect(out.rows).toBe(1);
    expect(out.cols).toBe(3);
    expect(Array.from(out.data)).toEqual(net().forward(X)[0]);
  });

  it('parameters() and gradients() use the course keys and shapes', () => {
    const p = net().parameters();
    expect(p).toEqual({ W1, b1, W2, b2 });
    const g = net().gradients(X, Y);
    expect(Object.keys(g)).toEqual(['dW1', 'db1', 'dW2', 'db2']);
    expect(g['dW1']).toHaveLength(4);
    expect(g['dW1']![0]).toHaveLength(2);
    expect(g['db1']).toHaveLength(4);
    expect(g['db1']![0]).toHaveLength(1);
  });

  it('step makes one gradient-descent update and returns the cost before it', () => {
    const a = net();
    const J = a.cost(X, Y);
    const g = a.gradients(X, Y);
    expect(a.step(X, Y, { learningRate: 0.1 })).toBe(J);
    expect(a.parameters()['W1']![0]![1]).toBe(W1[0]![1]! - 0.1 * g['dW1']![0]![1]!);
    expect(a.cost(X, Y)).toBeLessThan(J);
  });

  it('clone and parameterMatrices are independent copies', () => {
    const a = net();
    const b = a.clone();
    const p = a.parameterMatrices();
    a.step(X, Y, { learningRate: 1 });
    expect(b.parameters()).toEqual({ W1, b1, W2, b2 });
    expect(toNested(p['W1']!)).toEqual(W1);
  });

  it('describes itself', () => {
    const n = net();
    expect(n.sizes).toEqual([2, 4, 1]);
    expect(n.depth).toBe(2);
    expect(n.costName).toBe('binary_cross_entropy');
    expect(n.dtype).toBe('float64');
  });
});

describe('row per sample', () => {
  it('fromRows turns m rows of n features into X: (n, m); toRows turns it back', () => {
    const rows = SAMPLES;
    const Xm = fromRows(rows);
    expect(Xm.rows).toBe(2);
    expect(Xm.cols).toBe(3);
    expect(toNested(Xm)).toEqual(X);
    expect(toRows(Xm)).toEqual(rows);
    // A stored dataset as one row-major Float64Array, one row per sample, works the same way.
    expect(toNested(fromRows(matrix(3, 2, new Float64Array(rows.flat()))))).toEqual(X);
  });

  it('predictRows = forward on the transposed samples, with labels', () => {
    const n = net();
    const { outputs, labels } = n.predictRows(SAMPLES);
    const AL = n.forward(X);
    expect(outputs).toEqual(AL[0]!.map((a) => [a]));
    expect(labels).toEqual(AL[0]!.map((a) => (a > 0.5 ? 1 : 0)));
  });

  it('targets() builds Y from one label per sample', () => {
    expect(toNested(net().targets([1, 0, 1]))).toEqual(Y);
    const softmax = Network.create({
      inputSize: 2,
      layers: [
        { units: 3, activation: 'relu' },
        { units: 3, activation: 'softmax' },
      ],
    });
    expect(toNested(softmax.targets([2, 0]))).toEqual([
      [0, 1],
      [0, 0],
      [1, 0],
    ]);
    const regression = Network.create({ inputSize: 2, layers: [{ units: 2, activation: 'linear' }] });
    expect(toNested(regression.targets([[1.5, -2]]))).toEqual([[1.5], [-2]]);
    expect(regression.predictRows([[1, 2]]).labels).toBeNull();
    expect(() => net().targets([0, 3])).toThrow(/is 3 but a sigmoid output needs labels 0 or 1/);
    expect(() => softmax.targets([0, 3])).toThrow(
      /labels\[1\] is 3 but class labels must be integers 0\.\.2/,
    );
  });
});

describe('predictions and metrics', () => {
  it('labels: sigmoid > 0.5, softmax argmax', () => {
    const AL = net().forward(X)[0]!;
    expect(net().predict(X)).toEqual(AL.map((a) => (a > 0.5 ? 1 : 0)));
    expect(net().predict(X)).toEqual(net().predictRows(SAMPLES).labels);
    const softmax = Network.fromParameters({
      inputSize: 1,
      layers: [{ units: 3, activation: 'softmax' }],
      parameters: { W1: [[1], [0], [-1]], b1: [[0], [0.5], [0]] },
    });
    expect(softmax.predict([[2, 0.1, -3]])).toEqual([0, 1, 2]);
    expect(softmax.accuracy([[2, 0.1, -3]], oneHot([0, 1, 1], 3))).toBeCloseTo(2 / 3, 15);
  });

  it('accuracy and the confusion matrix (rows actual, columns predicted)', () => {
    expect(accuracy([1, 0, 1, 1], [1, 1, 1, 0])).toBe(0.5);
    expect(confusionMatrix([1, 0, 1, 1], [1, 1, 1, 0])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(confusionMatrix([2, 0], [2, 1], 3)).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [0, 0, 1],
    ]);
    expect(() => accuracy([1], [1, 0])).toThrow(/predicted has 1 labels but actual has 2/);
  });
});

describe('initialisation', () => {
  const std = (data: ArrayLike<number>) => {
    let s = 0;
    for (let k = 0; k < data.length; k++) s += data[k]! * data[k]!;
    return Math.sqrt(s / data.length);
  };
  it.each([
    ['random', () => 0.01],
    ['xavier', (n: number) => Math.sqrt(1 / n)],
    ['he', (n: number) => Math.sqrt(2 / n)],
  ] as const)('%s: W ~ N(0, 1)·scale(n[l-1]), b = 0', (init, scale) => {
    const n = Network.create({
      inputSize: 400,
      layers: [
        { units: 100, activation: 'relu' },
        { units: 1, activation: 'sigmoid' },
      ],
      init,
      seed: 1,
    });
    expect(std(n.weights.W[1]!.data) / scale(400)).toBeCloseTo(1, 1);
    expect(Array.from(n.weights.b[1]!.data).every((v) => v === 0)).toBe(true);
  });
});

describe('numerics at the edges', () => {
  const one = (values: number[]) => matrix(1, values.length, Float64Array.from(values));

  it('relu′(0) = 0 and leaky relu′(0) = the slope, as in the course', () => {
    const Z = one([0, -1, 2]);
    const dA = one([1, 1, 1]);
    const dZ = zeros(1, 3);
    ACTIVATIONS.relu.backward(dA, Z, Z, dZ, 0);
    expect(Array.from(dZ.data)).toEqual([0, 0, 1]);
    ACTIVATIONS.leaky_relu.backward(dA, Z, Z, dZ, 0.01);
    expect(Array.from(dZ.data)).toEqual([0.01, 0.01, 1]);
    const A = zeros(1, 3);
    ACTIVATIONS.leaky_relu.forward(Z, A, 0.2);
    expect(Array.from(A.data)).toEqual([0, -0.2, 2]);
  });

  it('sigmoid and softmax do not overflow to NaN', () => {
    const A = zeros(1, 3);
    ACTIVATIONS.sigmoid.forward(one([-1000, 0, 1000]), A, 0);
    expect(Array.from(A.data)).toEqual([0, 0.5, 1]);
    const Z = matrix(2, 2, Float64Array.from([1000, -1000, 999, 1000]));
    const S = zeros(2, 2);
    ACTIVATIONS.softmax.forward(Z, S, 0);
    expect(S.data.every(Number.isFinite)).toBe(true);
    expect(S.data[0]! + S.data[2]!).toBeCloseTo(1, 15);
  });

  it('a confident wrong answer costs a lot, but a finite amount', () => {
    const Z = one([-800, 800]);
    const A = zeros(1, 2);
    ACTIVATIONS.sigmoid.forward(Z, A, 0); // A = [0, 1] exactly: log(A) would be −Infinity
    const bce = COSTS.sigmoid.cost(Z, A, one([1, 0]));
    expect(bce).toBe(800);
    const Zs = matrix(2, 1, Float64Array.from([900, -900]));
    const As = zeros(2, 1);
    ACTIVATIONS.softmax.forward(Zs, As, 0);
    expect(COSTS.softmax.cost(Zs, As, matrix(2, 1, Float64Array.from([0, 1])))).toBe(1800);
  });

  it('a network with saturated outputs still gives a finite cost', () => {
    const n = Network.fromParameters({
      inputSize: 1,
      layers: [{ units: 1, activation: 'sigmoid' }],
      parameters: { W1: [[1000]], b1: [[0]] },
    });
    const J = n.cost([[5, -5]], [[0, 1]]);
    expect(J).toBe(5000);
  });
});
