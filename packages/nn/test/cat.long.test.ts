/**
 * Learning floor on the cat/non-cat images (weeks 2 and 4): the course's deep classifier
 * [12288, 20, 7, 5, 1], relu hidden layers and a sigmoid output, W = randn / sqrt(n[l-1])
 * ('xavier'), b = 0, learning rate 0.0075, 2500 full-batch iterations on X / 255. The course
 * reaches 98.6 % training and 80 % test accuracy (cost 0.7717 at the start, 0.0884 at the end).
 * About 0.2 GFLOP per iteration: how long this takes depends on the active kernels.
 */
import { describe, expect, it } from 'vitest';
import { Network, train } from '../src/index.ts';
import { loadCats } from './data.ts';

describe('cat classifier, 4 layers', () => {
  it('reaches at least 95 % training and 74 % test accuracy', () => {
    const { train: trainSet, test } = loadCats();
    expect(trainSet.X.rows).toBe(12288);
    expect(trainSet.X.cols).toBe(209);
    expect(test.X.cols).toBe(50);
    const net = Network.create({
      inputSize: 12288,
      layers: [
        { units: 20, activation: 'relu' },
        { units: 7, activation: 'relu' },
        { units: 5, activation: 'relu' },
        { units: 1, activation: 'sigmoid' },
      ],
      init: 'xavier',
      seed: 1,
    });
    const result = train(net, trainSet.X, trainSet.Y, {
      learningRate: 0.0075,
      iterations: 2500,
      costEvery: 100,
    });
    const trainAccuracy = net.accuracy(trainSet.X, trainSet.Y);
    const testAccuracy = net.accuracy(test.X, test.Y);
    console.info('cat classifier', {
      costs: result.costs.map((c) => Number(c.toFixed(6))),
      trainAccuracy,
      testAccuracy,
    });
    expect(result.finalCost).toBeLessThan(result.costs[0]!);
    expect(trainAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(testAccuracy).toBeGreaterThanOrEqual(0.74);
  });
});
