/**
 * The course's deep cat classifier (week 4, "Deep Neural Network - Application"):
 * [12288, 20, 7, 5, 1], relu hidden layers, a sigmoid output, W = randn(n[l], n[l-1]) / sqrt(n[l-1]),
 * b = 0, learning rate 0.0075, 2500 full-batch iterations on X / 255. The course reports cost
 * 0.771749 at iteration 0 and 0.088439 at iteration 2499, 98.56 % training and 80 % test accuracy.
 * About 0.2 GFLOP per iteration: how long this takes depends on the active kernels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeThreads } from '../node/threads.ts';
import { type LayerSpec, matrix, Network, setThreadSpawner, train } from '../src/index.ts';
import { loadCats } from './data.ts';
import { NumpyRandomState } from './numpy-random.ts';

const sizes = [12288, 20, 7, 5, 1];
const layers: LayerSpec[] = [
  { units: 20, activation: 'relu' },
  { units: 7, activation: 'relu' },
  { units: 5, activation: 'relu' },
  { units: 1, activation: 'sigmoid' },
];
const { train: trainSet, test } = loadCats();

beforeAll(useNodeThreads);
afterAll(() => setThreadSpawner(null));

describe('cat classifier, 4 layers', () => {
  // With 2 threads the first layer's products are split by rows (train's `threads`).
  it.each([1, 2])(
    'reproduces the course from its exact initial weights (numpy seed 1), %i thread(s)',
    (threads) => {
      expect(trainSet.X.rows).toBe(12288);
      expect(trainSet.X.cols).toBe(209);
      expect(test.X.cols).toBe(50);
      // initialize_parameters_deep with np.random.seed(1), as the notebook.
      const rng = new NumpyRandomState(1);
      const parameters: Record<string, ReturnType<typeof matrix>> = {};
      for (let l = 1; l < sizes.length; l++) {
        const W = rng.randn(sizes[l]!, sizes[l - 1]!);
        const scale = Math.sqrt(sizes[l - 1]!);
        for (let k = 0; k < W.length; k++) W[k] = W[k]! / scale;
        parameters[`W${l}`] = matrix(sizes[l]!, sizes[l - 1]!, W);
        parameters[`b${l}`] = matrix(sizes[l]!, 1, new Float64Array(sizes[l]!));
      }
      const net = Network.fromParameters({ inputSize: 12288, layers, parameters });
      // The notebook prints the cost at iteration 2499 (after 2499 updates) and then makes update 2500.
      const result = train(net, trainSet.X, trainSet.Y, {
        learningRate: 0.0075,
        iterations: 2499,
        costEvery: 100,
        threads,
      });
      net.step(trainSet.X, trainSet.Y, { learningRate: 0.0075 });
      const trainAccuracy = net.accuracy(trainSet.X, trainSet.Y);
      const testAccuracy = net.accuracy(test.X, test.Y);
      console.info(`cat, course init, ${threads} thread(s)`, {
        J0: result.costs[0],
        J2499: result.finalCost,
        trainAccuracy,
        testAccuracy,
      });
      // The course's printed values (6 decimals); ours agree to rounding (measured: 0.7717493,
      // 0.6720534, 0.0884399, i.e. numpy's to about 1e-12).
      expect(result.costs[0]).toBeCloseTo(0.771749, 6);
      expect(result.costs[1]).toBeCloseTo(0.672053, 6); // iteration 100
      expect(result.finalCost).toBeCloseTo(0.088439, 5); // iteration 2499
      expect(trainAccuracy).toBeGreaterThanOrEqual(0.95);
      expect(testAccuracy).toBeGreaterThanOrEqual(0.74);
      expect(trainAccuracy).toBe(206 / 209); // the course: 0.985645933014
      expect(testAccuracy).toBe(0.8); // the course: 0.8
    },
  );

  it("learns from the library's own init: 'xavier'", () => {
    // The same model with this library's seeded initialisation (N(0,1)·sqrt(1/n[l-1])). Training
    // accuracy is always ≥ 95 %, but accuracy on the 50 test images swings with the draw of the
    // initial weights (this deep net overfits 209 images). Measured with this training code:
    //   this library's Rng, seeds 1..8:  0.72 0.68 0.70 0.74 0.68 0.76 0.78 0.80  (mean 0.73)
    //   numpy's randn,      seeds 1..7:  0.80 0.76 0.78 0.76 0.74 0.68 0.76       (mean 0.75)
    // The same spread: the course's 80 % is its seed's luck. So the 74 % floor is asserted above
    // with the course's own draw; here the floor is above the 66 % of always answering "cat"
    // (33 of the 50 test images are cats), and seed 1 is simply the first seed.
    const net = Network.create({ inputSize: 12288, layers, init: 'xavier', seed: 1 });
    const result = train(net, trainSet.X, trainSet.Y, {
      learningRate: 0.0075,
      iterations: 2500,
      costEvery: 100,
    });
    const trainAccuracy = net.accuracy(trainSet.X, trainSet.Y);
    const testAccuracy = net.accuracy(test.X, test.Y);
    console.info("cat, init 'xavier' seed 1", {
      J0: result.costs[0],
      final: result.finalCost,
      trainAccuracy,
      testAccuracy,
    });
    expect(result.finalCost).toBeLessThan(0.15);
    expect(trainAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(testAccuracy).toBeGreaterThanOrEqual(0.68);
  });
});
