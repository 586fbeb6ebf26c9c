/** float32 mode: parameters and buffers in Float32Array; trains and stays close to float64. */
import { describe, expect, it } from 'vitest';
import { train } from '../src/index.ts';
import { loadPlanar } from './helpers.ts';
import { planarNetwork } from './networks.ts';

const planar = loadPlanar();

describe('float32', () => {
  it('stores parameters as Float32Array with the same initial values, rounded', () => {
    const a = planarNetwork({ init: 'random', seed: 2 });
    const b = planarNetwork({ init: 'random', seed: 2, dtype: 'float32' });
    expect(b.weights.W[1]!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(b.weights.W[1]!.data)).toEqual(Array.from(a.weights.W[1]!.data, Math.fround));
  });

  it('trains the planar data like float64', () => {
    const a = planarNetwork({ init: 'random', seed: 2 });
    const b = planarNetwork({ init: 'random', seed: 2, dtype: 'float32' });
    const ra = train(a, planar.X, planar.Y, { learningRate: 1.2, iterations: 2000, costEvery: 100 });
    const rb = train(b, planar.X, planar.Y, { learningRate: 1.2, iterations: 2000, costEvery: 100 });
    ra.costs.forEach((c, i) => {
      expect(Math.abs(rb.costs[i]! - c), `cost ${i}`).toBeLessThan(2e-3);
    });
    expect(Math.abs(b.accuracy(planar.X, planar.Y) - a.accuracy(planar.X, planar.Y))).toBeLessThanOrEqual(
      0.01,
    );
    expect(b.accuracy(planar.X, planar.Y)).toBeGreaterThan(0.85);
    const outA = a.forward(planar.X);
    const outB = b.forward(planar.X);
    expect(outB.data).toBeInstanceOf(Float32Array);
    let max = 0;
    for (let k = 0; k < outA.data.length; k++) max = Math.max(max, Math.abs(outA.data[k]! - outB.data[k]!));
    expect(max).toBeLessThan(0.05);
  });

  it('accepts float64 input (converted once) and nested arrays', () => {
    const net = planarNetwork({ seed: 1, dtype: 'float32' });
    const nested = net.forward([
      [0.5, -1],
      [2, 0],
    ]);
    expect(nested).toHaveLength(1);
    expect(nested[0]).toHaveLength(2);
  });
});
