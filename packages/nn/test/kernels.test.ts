import { describe, expect, it } from 'vitest';
import { defaultKernels, kernels, referenceKernels, wasmKernels } from '../src/kernels.ts';
import { blockedKernels } from '../src/kernels-blocked.ts';
import { type Matrix, zeros } from '../src/matrix.ts';
import {
  itBehavesAsAKernelSet,
  type ProductCheck,
  random,
  randomOperands,
  rng,
  withKernels,
} from './kernel-cases.ts';

function abs(m: Matrix): Matrix {
  const a = zeros(m.rows, m.cols, 'float64');
  for (let i = 0; i < m.data.length; i++) a.data[i] = Math.abs(m.data[i]!);
  return a;
}

/** How far the blocked kernels may be from the reference, relative to the natural error scale. */
const TOLERANCE = { float64: 1e-12, float32: 1e-6 } as const;

/**
 * Run `fast` and the reference on the same operands and check every element against the natural
 * error scale Σ_p |a_ip·b_pj| (summation order differs, so cancellation can make element-wise
 * relative error meaningless).
 */
const check: ProductCheck = (fast, v, r, c, k, dtype, seed) => {
  const tol = TOLERANCE[dtype];
  const { A, B } = randomOperands(v, r, c, k, dtype, rng(seed));
  const out = zeros(r, c, dtype);
  out.data.fill(Number.NaN); // garbage: every element must be overwritten, never read
  const ref = zeros(r, c, dtype);
  const scale = zeros(r, c, 'float64');
  fast[v](A, B, out);
  referenceKernels[v](A, B, ref);
  referenceKernels[v](abs(A), abs(B), scale);
  let worst = 0;
  for (let i = 0; i < out.data.length; i++) {
    const err = Math.abs(out.data[i]! - ref.data[i]!) / (scale.data[i]! + 1e-300);
    if (!(err <= worst)) worst = err; // NaN-safe: NaN replaces worst
  }
  if (!(worst <= tol)) {
    throw new Error(`${v} ${dtype} r=${r} c=${c} k=${k}: worst relative error ${worst} > ${tol}`);
  }
};

// Edge shapes besides the common ones: single rows/columns, sizes that are not multiples of the 2×3
// micro-tile, both sides of the small-product cutoff (4096 multiply-adds) and of the K (256), M
// (128) and N (1020) blocks (so both the contiguous, staged packing and the strided one run), and
// more of the workloads' own shapes.
const SHAPES: (readonly [number, number, number])[] = [
  [1, 400, 4],
  [4, 2, 400],
  [4, 400, 1],
  [1, 4, 400],
  [2, 3, 4],
  [5, 7, 11],
  [16, 16, 16],
  [17, 17, 17],
  [20, 209, 1],
  [1, 209, 5],
  [3, 1, 2000],
  [1, 3000, 3],
  [1, 1, 5000],
  [13, 11, 257],
  [2, 3, 256],
  [3, 5, 513],
  [129, 7, 9],
  [130, 33, 40],
  [256, 31, 19],
  [4, 1025, 2],
  [3, 1021, 3],
  [7, 2041, 5],
  [10, 128, 300],
  [100, 100, 1],
  [1, 5000, 2],
  [70, 2, 50],
];

describe('blocked kernels match the reference', () => {
  itBehavesAsAKernelSet(blockedKernels, {
    check,
    shapes: SHAPES,
    titles: { shapes: 'edge and block-boundary shapes', float64: 'within 1e-12', float32: 'within 1e-6' },
    maxCols: 150,
  });

  it('accepts operands and out of different dtypes (widened to double, rounded on the way out)', () => {
    const next = rng(99);
    for (const [r, c, k] of [
      [3, 5, 7],
      [40, 60, 300],
    ] as const) {
      const A32 = random(r, k, 'float32', next);
      const B64 = random(k, c, 'float64', next);
      const A64 = zeros(r, k);
      A64.data.set(A32.data);
      const want = zeros(r, c);
      referenceKernels.matmul(A64, B64, want);
      const out64 = zeros(r, c);
      blockedKernels.matmul(A32, B64, out64);
      const out32 = zeros(r, c, 'float32');
      blockedKernels.matmul(A32, B64, out32);
      for (let i = 0; i < want.data.length; i++) {
        expect(Math.abs(out64.data[i]! - want.data[i]!)).toBeLessThan(1e-12 * k);
        expect(Math.abs(out32.data[i]! - want.data[i]!)).toBeLessThan(1e-6 * k);
      }
    }
  });

  it('computes a known product exactly', () => {
    // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const A: Matrix = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
    const B: Matrix = { rows: 3, cols: 2, data: Float64Array.from([7, 8, 9, 10, 11, 12]) };
    const out = zeros(2, 2);
    blockedKernels.matmul(A, B, out);
    expect([...out.data]).toEqual([58, 64, 139, 154]);
    const Bt: Matrix = { rows: 2, cols: 3, data: Float64Array.from([7, 9, 11, 8, 10, 12]) };
    blockedKernels.matmulTransB(A, Bt, out);
    expect([...out.data]).toEqual([58, 64, 139, 154]);
    const At: Matrix = { rows: 3, cols: 2, data: Float64Array.from([1, 4, 2, 5, 3, 6]) };
    blockedKernels.matmulTransA(At, B, out);
    expect([...out.data]).toEqual([58, 64, 139, 154]);
  });
});

describe('kernel selection', () => {
  it('uses the WebAssembly kernels by default where they load, else the blocked ones, and can swap', () => {
    expect(kernels()).toBe(defaultKernels);
    expect(defaultKernels).toBe(wasmKernels ?? blockedKernels);
    withKernels(referenceKernels, () => {
      expect(kernels()).toBe(referenceKernels);
    });
    expect(kernels()).toBe(defaultKernels);
  });
});
