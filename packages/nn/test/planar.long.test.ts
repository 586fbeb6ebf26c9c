/**
 * Learning floor on the week 3 planar "flower" data: 2 → 4 tanh → 1 sigmoid, W = randn·0.01,
 * b = 0, learning rate 1.2, full-batch gradient descent, 10000 iterations. The course reaches
 * 90.75 % training accuracy (cost 0.693 at the start, 0.2186 at iteration 9000).
 */
import { describe, expect, it } from 'vitest';
import { train } from '../src/index.ts';
import { loadPlanar } from './data.ts';
import { planarNetwork } from './networks.ts';

describe('planar data, one hidden layer of 4 tanh units', () => {
  const { X, Y } = loadPlanar();

  it.each([0, 1, 2, 3, 4])('seed %i: training accuracy at least 0.9', (seed) => {
    const net = planarNetwork({ init: 'random', seed });
    const result = train(net, X, Y, { learningRate: 1.2, iterations: 10_000, costEvery: 1000 });
    expect(result.costs[0]).toBeCloseTo(Math.log(2), 3);
    expect(result.finalCost).toBeLessThan(0.26);
    expect(net.accuracy(X, Y)).toBeGreaterThanOrEqual(0.9);
  });
});
