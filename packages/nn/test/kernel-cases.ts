/** Operands for the kernel tests: the three products, their shapes, and seeded random matrices. */
import { type DType, type Matrix, zeros } from '../src/matrix.ts';
import { Rng } from '../src/rng.ts';

export type Variant = 'matmul' | 'matmulTransB' | 'matmulTransA';
export const VARIANTS: Variant[] = ['matmul', 'matmulTransB', 'matmulTransA'];

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
