/**
 * Gradient checks (the course's method, ε = 1e-7): backward propagation against two-sided
 * numerical gradients, for every hidden activation × output activation (and so every cost), a
 * 3-layer model, L2 regularisation, each activation's backward on its own (including softmax's
 * general Jacobian rule), and negative controls proving the check can fail.
 */
import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS,
  type ActivationName,
  gradientCheck,
  HIDDEN_ACTIVATIONS,
  Network,
  OUTPUT_ACTIVATIONS,
  type OutputActivationName,
  oneHot,
  Rng,
  relativeDifference,
  toNested,
  zeros,
} from '../src/index.ts';
import { dense } from './networks.ts';

const EPSILON = 1e-7;
/** The course: "if difference < 2e-7 the gradient is correct". */
const THRESHOLD = 2e-7;

function data(inputSize: number, m: number, output: OutputActivationName, units: number, seed: number) {
  const rng = new Rng(seed);
  const X = zeros(inputSize, m);
  for (let k = 0; k < X.data.length; k++) X.data[k] = rng.normal();
  let Y = zeros(units, m);
  if (output === 'sigmoid') for (let k = 0; k < Y.data.length; k++) Y.data[k] = rng.uniform() < 0.5 ? 0 : 1;
  if (output === 'softmax')
    Y = oneHot(
      Array.from({ length: m }, (_, j) => j % units),
      units,
    );
  if (output === 'linear') for (let k = 0; k < Y.data.length; k++) Y.data[k] = rng.normal();
  return { X, Y };
}

function unitsOf(output: OutputActivationName): number {
  return output === 'sigmoid' ? 1 : output === 'softmax' ? 3 : 2;
}

describe('gradient check of the whole model', () => {
  const combos = HIDDEN_ACTIVATIONS.flatMap((hidden) =>
    OUTPUT_ACTIVATIONS.map((output) => ({ hidden, output })),
  );

  it.each(combos)('hidden $hidden, output $output', ({ hidden, output }) => {
    const layers = dense([5, hidden], [unitsOf(output), output]);
    const net = Network.create({ inputSize: 4, layers, init: 'xavier', seed: 11 });
    const { X, Y } = data(4, 6, output, unitsOf(output), 12);
    const result = gradientCheck(net, X, Y, { epsilon: EPSILON });
    expect(result.difference).toBeLessThan(THRESHOLD);
    expect(result.passed).toBe(true);
    expect(result.analytic.length).toBe(4 * 5 + 5 + 5 * unitsOf(output) + unitsOf(output));
  });

  it.each(OUTPUT_ACTIVATIONS)('3-layer model relu → tanh → %s, with and without L2', (output) => {
    const layers = dense([5, 'relu'], [4, 'tanh'], [unitsOf(output), output]);
    const net = Network.create({ inputSize: 3, layers, init: 'he', seed: 21 });
    const { X, Y } = data(3, 7, output, unitsOf(output), 22);
    for (const l2 of [0, 0.7]) {
      const result = gradientCheck(net, X, Y, { l2 });
      expect(result.difference, `l2 ${l2}`).toBeLessThan(THRESHOLD);
      for (const [name, d] of Object.entries(result.byParameter)) expect(d, name).toBeLessThan(1e-6);
    }
  });

  it('leaky_relu with a custom slope and a deep stack of every hidden activation', () => {
    const layers = dense([4, 'leaky_relu', 0.2], [4, 'sigmoid'], [3, 'relu'], [3, 'tanh'], [1, 'sigmoid']);
    const net = Network.create({ inputSize: 3, layers, init: 'he', seed: 31 });
    const { X, Y } = data(3, 8, 'sigmoid', 1, 32);
    expect(gradientCheck(net, X, Y).difference).toBeLessThan(THRESHOLD);
  });

  it('leaves the network unchanged', () => {
    const net = Network.create({ inputSize: 3, layers: dense([2, 'tanh'], [1, 'sigmoid']), seed: 1 });
    const before = net.parameters();
    const { X, Y } = data(3, 4, 'sigmoid', 1, 2);
    gradientCheck(net, X, Y);
    expect(net.parameters()).toEqual(before);
  });
});

describe('negative controls: the checker catches wrong gradients', () => {
  const net = Network.create({ inputSize: 3, layers: dense([4, 'tanh'], [3, 'softmax']), seed: 41 });
  const d = data(3, 6, 'softmax', 3, 42);
  const X = toNested(d.X); // nested X: gradients come back as nested arrays
  const Y = toNested(d.Y);

  it('one analytic entry perturbed by 1e-3', () => {
    const grads = net.gradients(X, Y);
    grads['dW1']![1]![2]! += 1e-3;
    const result = gradientCheck(net, X, Y, { gradients: grads });
    expect(result.difference).toBeGreaterThan(1e-4);
    expect(result.passed).toBe(false);
    expect(result.byParameter['W1']).toBeGreaterThan(1e-3);
    expect(result.byParameter['W2']).toBeLessThan(THRESHOLD);
  });

  it('a gradient that forgets the 1/m factor of db', () => {
    const grads = net.gradients(X, Y);
    grads['db2'] = grads['db2']!.map((row) => row.map((v) => v * 6));
    const result = gradientCheck(net, X, Y, { gradients: grads });
    expect(result.passed).toBe(false);
    expect(result.byParameter['b2']).toBeGreaterThan(0.5);
  });

  it('a wrong activation derivative (tanh backward using the sigmoid rule)', () => {
    // The gradients of a tanh network computed as if its hidden layer were sigmoid: same
    // parameters, wrong g'. The check against the tanh network's cost must fail.
    const tanhNet = Network.create({ inputSize: 3, layers: dense([4, 'tanh'], [1, 'sigmoid']), seed: 43 });
    const sigmoidNet = Network.fromParameters({
      inputSize: 3,
      layers: dense([4, 'sigmoid'], [1, 'sigmoid']),
      parameters: tanhNet.parameters(),
    });
    const d = data(3, 6, 'sigmoid', 1, 44);
    const wrong = sigmoidNet.gradients(d.X, d.Y);
    expect(gradientCheck(tanhNet, d.X, d.Y).passed).toBe(true);
    expect(gradientCheck(tanhNet, d.X, d.Y, { gradients: wrong }).difference).toBeGreaterThan(1e-2);
  });

  it('relativeDifference is 0 for equal vectors and large for different ones', () => {
    expect(relativeDifference([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(relativeDifference([0, 0], [0, 0])).toBe(0);
    expect(relativeDifference([1, 0], [-1, 0])).toBe(1);
  });
});

describe('each activation backward against finite differences', () => {
  // For a scalar f(Z) = Σ dA ⊙ g(Z), ∂f/∂Z = backward(dA): checks g' (and softmax's Jacobian
  // rule, which training does not use because of the fused output gradient).
  const names = Object.keys(ACTIVATIONS) as ActivationName[];
  it.each(names)('%s', (name) => {
    const g = ACTIVATIONS[name];
    const slope = 0.07;
    const rng = new Rng(51);
    const n = 4;
    const m = 3;
    const Z = zeros(n, m);
    const dA = zeros(n, m);
    for (let k = 0; k < Z.data.length; k++) {
      Z.data[k] = 2 * rng.normal();
      dA.data[k] = rng.normal();
    }
    const A = zeros(n, m);
    const dZ = zeros(n, m);
    g.forward(Z, A, slope);
    g.backward(dA, Z, A, dZ, slope);
    const f = () => {
      const out = zeros(n, m);
      g.forward(Z, out, slope);
      let sum = 0;
      for (let k = 0; k < out.data.length; k++) sum += out.data[k]! * dA.data[k]!;
      return sum;
    };
    const approx = new Float64Array(n * m);
    for (let k = 0; k < Z.data.length; k++) {
      const z = Z.data[k]!;
      Z.data[k] = z + EPSILON;
      const plus = f();
      Z.data[k] = z - EPSILON;
      const minus = f();
      Z.data[k] = z;
      approx[k] = (plus - minus) / (2 * EPSILON);
    }
    expect(relativeDifference(dZ.data, approx)).toBeLessThan(THRESHOLD);
  });
});
