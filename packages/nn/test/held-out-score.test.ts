/**
 * With a validation split, train records the held-out accuracy (classification) or MSE
 * (regression) beside each validation cost: checked against the trained network scored on the
 * held-out columns afterwards (the last record is of the final parameters).
 */
import { describe, expect, it } from 'vitest';
import {
  fromNested,
  type Matrix,
  type MatrixInput,
  Network,
  selectColumns,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
} from '../src/index.ts';
import { loadPlanar } from './helpers.ts';
import { dense, planarNetwork } from './networks.ts';

/** train, keeping every progress report (`seen`) beside the result. */
function trainSeeing(net: Network, X: MatrixInput, Y: MatrixInput, options: TrainOptions) {
  const seen: TrainProgress[] = [];
  const result = train(net, X, Y, { ...options, onProgress: (p) => seen.push(p) });
  return { result, seen };
}

/** The held-out columns of X and Y (the result's split), and the trained network's output on them. */
function heldOut(net: Network, result: TrainResult, X: Matrix, Y: Matrix) {
  const held = result.split!.validation;
  const Xv = selectColumns(X, held);
  return { AL: net.forward(Xv), Xv, Yv: selectColumns(Y, held) };
}

describe('held-out score at every recorded cost', () => {
  it('classification: accuracy on the validation columns', () => {
    const { X, Y } = loadPlanar();
    const net = planarNetwork({ seed: 3 });
    const { result, seen } = trainSeeing(net, X, Y, {
      learningRate: 1.2,
      iterations: 300,
      costEvery: 50,
      validationSplit: 0.25,
    });
    expect(seen.map((p) => p.iteration)).toEqual(result.costIterations);
    for (const p of seen) {
      expect(p.validationAccuracy).toBeGreaterThanOrEqual(0);
      expect(p.validationAccuracy).toBeLessThanOrEqual(1);
      expect(p.validationMse).toBeUndefined();
    }
    const { Xv, Yv } = heldOut(net, result, X, Y);
    expect(seen.at(-1)!.validationAccuracy).toBe(net.accuracy(Xv, Yv));
    // Training learns: the held-out accuracy rises from the initial parameters' (negative control
    // against a score that never changes).
    expect(seen.at(-1)!.validationAccuracy!).toBeGreaterThan(seen[0]!.validationAccuracy! + 0.2);
  });

  it('independent sigmoid outputs (several units): the share of outputs on the right side of 0.5', () => {
    const { X, Y } = loadPlanar();
    // two yes/no outputs per sample: the planar label and its opposite
    const Y2: Matrix = {
      rows: 2,
      cols: Y.cols,
      data: Float64Array.from([...Y.data, ...Y.data.map((y) => 1 - y)]),
    };
    const net = Network.create({ inputSize: 2, layers: dense([4, 'tanh'], [2, 'sigmoid']), seed: 3 });
    const { result, seen } = trainSeeing(net, X, Y2, {
      learningRate: 1.2,
      iterations: 200,
      costEvery: 50,
      validationSplit: 0.25,
    });
    const { AL, Yv: targets } = heldOut(net, result, X, Y2);
    let right = 0;
    for (let i = 0; i < AL.data.length; i++) if (AL.data[i]! > 0.5 === targets.data[i]! > 0.5) right++;
    expect(seen.at(-1)!.validationAccuracy).toBe(right / AL.data.length);
    expect(seen.at(-1)!.validationAccuracy!).toBeGreaterThan(0.6);
  });

  it('regression: mean squared error on the validation columns', () => {
    const m = 60;
    const x = Array.from({ length: m }, (_, i) => i / m);
    const X = [x];
    const Y = [x.map((v) => 3 * v - 1 + Math.sin(7 * v) / 10)];
    const net = Network.create({ inputSize: 1, layers: [{ units: 1, activation: 'linear' }], seed: 1 });
    const { result, seen } = trainSeeing(net, X, Y, {
      learningRate: 0.5,
      iterations: 200,
      costEvery: 40,
      validationSplit: 0.2,
    });
    const { AL, Yv } = heldOut(net, result, fromNested(X), fromNested(Y));
    let sum = 0;
    for (let j = 0; j < AL.cols; j++) sum += (AL.data[j]! - Yv.data[j]!) ** 2;
    const last = seen.at(-1)!;
    expect(last.validationAccuracy).toBeUndefined();
    expect(last.validationMse).toBeCloseTo(sum / AL.cols, 14);
    // The cost of a linear output is half the MSE: the two records agree.
    expect(last.validationCost).toBeCloseTo(last.validationMse! / 2, 14);
  });

  it('nothing without a validation split', () => {
    const net = Network.create({ inputSize: 1, layers: [{ units: 1, activation: 'sigmoid' }], seed: 1 });
    const { seen } = trainSeeing(net, [[0, 1, 2, 3]], [[0, 0, 1, 1]], { learningRate: 0.1, iterations: 3 });
    expect(seen.every((p) => p.validationAccuracy === undefined && p.validationMse === undefined)).toBe(true);
  });
});
