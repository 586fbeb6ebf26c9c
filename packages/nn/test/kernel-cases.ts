/**
 * Operands for the kernel tests: the three products, their shapes, seeded random matrices, and the
 * cases every kernel set is checked on.
 */
import { expect, it } from 'vitest';
import { defaultKernels, type Kernels, setKernels } from '../src/kernels.ts';
import { type DType, type Matrix, zeros } from '../src/matrix.ts';
import { Rng } from '../src/rng.ts';
import { bits } from './helpers.ts';

export type Variant = 'matmul' | 'matmulTransB' | 'matmulTransA';
export const VARIANTS: Variant[] = ['matmul', 'matmulTransB', 'matmulTransA'];

/**
 * Shapes [r, c, k] every kernel set is checked on, besides the block edges of its own: single rows,
 * columns and k = 1; layer products of the benchmark workloads (W3 planar, the small layers of W1);
 * and mid-sized products that cross a K or column block of both the blocked and the wasm kernels.
 */
export const COMMON_SHAPES: readonly (readonly [number, number, number])[] = [
  [1, 1, 1],
  [1, 1, 7],
  [1, 9, 1],
  [9, 1, 1],
  [4, 400, 2],
  [7, 209, 20],
  [5, 20, 209],
  [33, 100, 600],
  [10, 1100, 130],
];

/** A seeded uniform [0, 1) source (nn's own generator), so failures reproduce. */
export function rng(seed: number): () => number {
  const generator = new Rng(seed);
  return () => generator.uniform();
}

/** A rows × cols matrix of values uniform in [-1, 1). */
export function random(rows: number, cols: number, dtype: DType, next: () => number): Matrix {
  const m = zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = next() * 2 - 1;
  return m;
}

/** Operand shapes of out (r×c) = op(A)·op(B) with inner dimension k, per variant. */
export function operands(v: Variant, r: number, c: number, k: number): [[number, number], [number, number]] {
  if (v === 'matmul')
    return [
      [r, k],
      [k, c],
    ];
  if (v === 'matmulTransB')
    return [
      [r, k],
      [c, k],
    ];
  return [
    [k, r],
    [k, c],
  ];
}

/** Seeded random operands of `v` for out (r×c) with inner dimension k, and their shapes. */
export function randomOperands(
  v: Variant,
  r: number,
  c: number,
  k: number,
  dtype: DType,
  next: () => number,
): { A: Matrix; B: Matrix } {
  const [sa, sb] = operands(v, r, c, k);
  return { A: random(sa[0], sa[1], dtype, next), B: random(sb[0], sb[1], dtype, next) };
}

/** Runs `f` with `k` as the process's kernels, then restores the default ones. */
export function withKernels<T>(k: Kernels, f: () => T): T {
  setKernels(k);
  try {
    return f();
  } finally {
    setKernels(defaultKernels);
  }
}

/** Checks one product of a kernel set against the reference; throws when it is off. */
export type ProductCheck = (
  kernelSet: Kernels,
  v: Variant,
  r: number,
  c: number,
  k: number,
  dtype: DType,
  seed: number,
) => void;

export interface KernelSetCases {
  /** what the kernel set must give per product (the titles say what it demands) */
  check: ProductCheck;
  /** the edges of the set's own blocking, checked after COMMON_SHAPES */
  shapes: readonly (readonly [number, number, number])[];
  titles: { shapes: string; float64: string; float32: string };
  /** the largest c of the random shapes */
  maxCols: number;
}

/**
 * The tests every kernel set runs. Per product: COMMON_SHAPES then `shapes` in float64 (seed
 * 1000 + n) and float32 (2000 + n), then 60 random shapes (r ≤ 150, c ≤ maxCols, k ≤ 700) in both
 * dtypes, titled `${v}: ${titles.shapes}, float64 ${titles.float64}`. Then k = 0 and the absence
 * of state between calls.
 */
export function itBehavesAsAKernelSet(kernelSet: Kernels, cases: KernelSetCases): void {
  const { check, titles, maxCols } = cases;
  const shapes = [...COMMON_SHAPES, ...cases.shapes];
  for (const v of VARIANTS) {
    it(`${v}: ${titles.shapes}, float64 ${titles.float64}`, () => {
      shapes.forEach(([r, c, k], n) => {
        check(kernelSet, v, r, c, k, 'float64', 1000 + n);
      });
    });

    it(`${v}: ${titles.shapes}, float32 ${titles.float32}`, () => {
      shapes.forEach(([r, c, k], n) => {
        check(kernelSet, v, r, c, k, 'float32', 2000 + n);
      });
    });

    it(`${v}: random shapes, both dtypes`, () => {
      const next = rng(42 + VARIANTS.indexOf(v));
      const dim = (max: number) => 1 + Math.floor(next() ** 2 * max); // skewed towards small
      for (let n = 0; n < 60; n++) {
        const r = dim(150);
        const c = dim(maxCols);
        const k = dim(700);
        check(kernelSet, v, r, c, k, 'float64', 3000 + n);
        check(kernelSet, v, r, c, k, 'float32', 4000 + n);
      }
    });
  }

  it('overwrites out with zeros when k = 0', () => {
    expectZerosWhenKIsZero(kernelSet);
  });

  it('gives the same result when called again with the same operands (no state leaks between calls)', () => {
    expectNoStateBetweenCalls(kernelSet);
  });
}

/** k = 0: every product overwrites its (garbage-filled) out with zeros. */
function expectZerosWhenKIsZero(kernelSet: Kernels): void {
  for (const v of VARIANTS) {
    const [sa, sb] = operands(v, 3, 4, 0);
    const out = zeros(3, 4);
    out.data.fill(Number.NaN);
    kernelSet[v](zeros(sa[0], sa[1]), zeros(sb[0], sb[1]), out);
    expect([...out.data]).toEqual(new Array(12).fill(0));
  }
}

/**
 * The same product twice, with one of another shape and dtype in between (it reuses the kernels'
 * scratch memory), gives the same bits: no state leaks between calls.
 */
function expectNoStateBetweenCalls(kernelSet: Kernels): void {
  const next = rng(7);
  const A = random(70, 300, 'float64', next);
  const B = random(300, 50, 'float64', next);
  const first = zeros(70, 50);
  const second = zeros(70, 50);
  kernelSet.matmul(A, B, first);
  const C = random(9, 1000, 'float32', next);
  kernelSet.matmulTransB(C, C, zeros(9, 9, 'float32'));
  kernelSet.matmul(A, B, second);
  expect(bits(second.data)).toBe(bits(first.data));
}
