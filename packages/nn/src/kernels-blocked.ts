/**
 * Fast pure-TypeScript matrix products: packed, cache-blocked, register-blocked (GotoBLAS/BLIS
 * layout, scalar code).
 *
 * One general product out = op(A)·op(B) serves all three variants: the operands are read through
 * strides, so a transposed operand is just other strides. Each block of op(A) (MC×KC) and op(B)
 * (KC×NC) is packed into one Float64Array scratch as micro-panels that the inner loop reads with
 * unit stride: an A micro-panel holds MR=2 rows interleaved by k, a B micro-panel NR=3 columns.
 * Panels past the matrix edge are padded with zeros, so the micro-kernel always computes a full
 * 2×3 tile; edge tiles go through a 6-element scratch tile and only the valid part is written.
 *
 * Why 2×3: V8 keeps doubles in 15 xmm registers and schedules all products of one k step before
 * their sums, so larger tiles (4×4, 2×4, 3×3) spill accumulators and run at half the speed;
 * measured on Zen 5 under Node 20, the 2×3 micro-kernel reaches ~12 GFLOP/s from cache against
 * ~6 for 4×4. Index arithmetic is written `(x + n) | 0` so V8 emits plain int32 adds without
 * overflow checks.
 *
 * Float32 operands are packed into the same Float64Array: products and sums run in double (as the
 * reference loops do) and are rounded once per K block when written to a Float32Array `out`. The
 * micro-kernel exists once per output dtype so every element access stays monomorphic.
 *
 * Tiny products (the planar network's 4×2·2×400) skip packing: plain loops have less fixed cost.
 */
import type { Kernels } from './kernels.ts';
import type { FloatArray, Matrix } from './matrix.ts';

/** Micro-tile rows (A micro-panel width). The micro-kernels below are written for 2. */
const MR = 2;
/** Micro-tile columns (B micro-panel width). The micro-kernels below are written for 3. */
const NR = 3;
/** Depth of one K block: a B micro-panel (KC×NR doubles, 6 KiB) stays in L1. */
const KC = 256;
/** Rows of one packed A block (MC×KC doubles, 256 KiB): stays in L2 while B micro-panels pass. */
const MC = 128;
/** Columns of one packed B block (KC×NC doubles, 2 MiB). A multiple of NR. */
const NC = 3 * 340;
/** Up to this many multiply-adds a product runs as plain loops (no packing). */
const SMALL = 4096;

/**
 * The packing buffer: the A block at 0, the B block at B_OFF. It is a module-level constant on
 * purpose and the micro-kernels read it directly instead of taking it as a parameter: TurboFan
 * then knows the array and drops the per-iteration map check and base/length reloads from the
 * inner loop, which measured 11–12 GFLOP/s against 7–8 with the buffer as an argument. Pages
 * are only touched once a product is large enough to use them.
 */
const PACK = new Float64Array((MC + NC) * KC);
const B_OFF = MC * KC;
/** Edge tiles land here first; only their valid corner is copied to `out`. */
const TILE = new Float64Array(MR * NR);

/*
 * Packing. An operand is read either "by rows" (element (x, p) at src[p*ld + x]: B of a plain
 * product, A of Aᵀ·B) or "by strips" (element (x, p) at src[x*ld + p]: A of a plain product, B
 * of A·Bᵀ). Panel q of a block (rows x0+q*w ... of op(X)) starts at PACK[o + q*kc*w] and holds
 * (x, p) at (p-p0)*w + (x - x0 - q*w); rows past nx are zero. One function per layout and panel
 * width keeps the copy loops free of branches; `| 0` keeps the index arithmetic in int32.
 */

/** B panels (w = 3) from src[p*ld + x]: walk each source row once, scattering to the panels. */
function packRows3(
  src: FloatArray,
  ld: number,
  x0: number,
  nx: number,
  p0: number,
  kc: number,
  o: number,
): void {
  const full = nx - (nx % 3);
  const panel = kc * 3;
  for (let p = 0; p < kc; p++) {
    let s = (x0 + (p0 + p) * ld) | 0;
    let d = (o + p * 3) | 0;
    for (let x = 0; x < full; x = (x + 3) | 0) {
      PACK[d] = src[s]!;
      PACK[(d + 1) | 0] = src[(s + 1) | 0]!;
      PACK[(d + 2) | 0] = src[(s + 2) | 0]!;
      s = (s + 3) | 0;
      d = (d + panel) | 0;
    }
    for (let x = 0; full < nx && x < 3; x++) PACK[d + x] = full + x < nx ? src[s + x]! : 0;
  }
}

/** A panels (w = 2) from src[p*ld + x]. */
function packRows2(
  src: FloatArray,
  ld: number,
  x0: number,
  nx: number,
  p0: number,
  kc: number,
  o: number,
): void {
  const full = nx - (nx % 2);
  const panel = kc * 2;
  for (let p = 0; p < kc; p++) {
    let s = (x0 + (p0 + p) * ld) | 0;
    let d = (o + p * 2) | 0;
    for (let x = 0; x < full; x = (x + 2) | 0) {
      PACK[d] = src[s]!;
      PACK[(d + 1) | 0] = src[(s + 1) | 0]!;
      s = (s + 2) | 0;
      d = (d + panel) | 0;
    }
    if (full < nx) {
      PACK[d] = src[s]!;
      PACK[d + 1] = 0;
    }
  }
}

/** B panels (w = 3) from src[x*ld + p]: three contiguous source streams per panel. */
function packStrips3(
  src: FloatArray,
  ld: number,
  x0: number,
  nx: number,
  p0: number,
  kc: number,
  o: number,
): void {
  const full = nx - (nx % 3);
  const ld2 = 2 * ld;
  for (let q = 0; q < full; q += 3) {
    let d = (o + q * kc) | 0;
    let s = ((x0 + q) * ld + p0) | 0;
    const end = (s + kc) | 0;
    for (; s < end; s = (s + 1) | 0) {
      PACK[d] = src[s]!;
      PACK[(d + 1) | 0] = src[(s + ld) | 0]!;
      PACK[(d + 2) | 0] = src[(s + ld2) | 0]!;
      d = (d + 3) | 0;
    }
  }
  if (full < nx) {
    let d = o + full * kc;
    const s = (x0 + full) * ld + p0;
    for (let p = 0; p < kc; p++) {
      for (let x = 0; x < 3; x++) PACK[d + x] = full + x < nx ? src[s + x * ld + p]! : 0;
      d += 3;
    }
  }
}

/** A panels (w = 2) from src[x*ld + p]. */
function packStrips2(
  src: FloatArray,
  ld: number,
  x0: number,
  nx: number,
  p0: number,
  kc: number,
  o: number,
): void {
  const full = nx - (nx % 2);
  for (let q = 0; q < full; q += 2) {
    let d = (o + q * kc) | 0;
    let s = ((x0 + q) * ld + p0) | 0;
    const end = (s + kc) | 0;
    for (; s < end; s = (s + 1) | 0) {
      PACK[d] = src[s]!;
      PACK[(d + 1) | 0] = src[(s + ld) | 0]!;
      d = (d + 2) | 0;
    }
  }
  if (full < nx) {
    let d = o + full * kc;
    const s = (x0 + full) * ld + p0;
    for (let p = 0; p < kc; p++) {
      PACK[d] = src[s + p]!;
      PACK[d + 1] = 0;
      d += 2;
    }
  }
}

/**
 * 2×3 micro-kernel into a Float64Array: C[co + a*ldc + b] (+)= Σ_p PACK[ao + 2p + a]·PACK[bo + 3p + b].
 * `add` false overwrites (first K block), true accumulates.
 */
function micro64(
  kc: number,
  ao: number,
  bo: number,
  C: Float64Array,
  co: number,
  ldc: number,
  add: boolean,
): void {
  let c00 = 0;
  let c01 = 0;
  let c02 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  for (let p = 0; p < kc; p = (p + 1) | 0) {
    const a0 = PACK[ao]!;
    const a1 = PACK[(ao + 1) | 0]!;
    const b0 = PACK[bo]!;
    c00 += a0 * b0;
    c10 += a1 * b0;
    const b1 = PACK[(bo + 1) | 0]!;
    c01 += a0 * b1;
    c11 += a1 * b1;
    const b2 = PACK[(bo + 2) | 0]!;
    c02 += a0 * b2;
    c12 += a1 * b2;
    ao = (ao + 2) | 0;
    bo = (bo + 3) | 0;
  }
  const c1 = co + ldc;
  if (add) {
    C[co] = C[co]! + c00;
    C[co + 1] = C[co + 1]! + c01;
    C[co + 2] = C[co + 2]! + c02;
    C[c1] = C[c1]! + c10;
    C[c1 + 1] = C[c1 + 1]! + c11;
    C[c1 + 2] = C[c1 + 2]! + c12;
  } else {
    C[co] = c00;
    C[co + 1] = c01;
    C[co + 2] = c02;
    C[c1] = c10;
    C[c1 + 1] = c11;
    C[c1 + 2] = c12;
  }
}

/** micro64 with a Float32Array destination (a separate copy keeps both call sites monomorphic). */
function micro32(
  kc: number,
  ao: number,
  bo: number,
  C: Float32Array,
  co: number,
  ldc: number,
  add: boolean,
): void {
  let c00 = 0;
  let c01 = 0;
  let c02 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  for (let p = 0; p < kc; p = (p + 1) | 0) {
    const a0 = PACK[ao]!;
    const a1 = PACK[(ao + 1) | 0]!;
    const b0 = PACK[bo]!;
    c00 += a0 * b0;
    c10 += a1 * b0;
    const b1 = PACK[(bo + 1) | 0]!;
    c01 += a0 * b1;
    c11 += a1 * b1;
    const b2 = PACK[(bo + 2) | 0]!;
    c02 += a0 * b2;
    c12 += a1 * b2;
    ao = (ao + 2) | 0;
    bo = (bo + 3) | 0;
  }
  const c1 = co + ldc;
  if (add) {
    C[co] = C[co]! + c00;
    C[co + 1] = C[co + 1]! + c01;
    C[co + 2] = C[co + 2]! + c02;
    C[c1] = C[c1]! + c10;
    C[c1 + 1] = C[c1 + 1]! + c11;
    C[c1 + 2] = C[c1 + 2]! + c12;
  } else {
    C[co] = c00;
    C[co + 1] = c01;
    C[co + 2] = c02;
    C[c1] = c10;
    C[c1 + 1] = c11;
    C[c1 + 2] = c12;
  }
}

/** Write the valid mr×nr corner of TILE into out at (i, j). */
function flushTile(
  out: FloatArray,
  c: number,
  i: number,
  j: number,
  mr: number,
  nr: number,
  add: boolean,
): void {
  for (let a = 0; a < mr; a++) {
    const o = (i + a) * c + j;
    for (let b = 0; b < nr; b++) out[o + b] = add ? out[o + b]! + TILE[a * NR + b]! : TILE[a * NR + b]!;
  }
}

/**
 * out (r×c, row-major) = op(A)·op(B), inner dimension k. op(A)(i, p) is A[i*lda + p], or
 * A[p*lda + i] when `aT`; op(B)(p, j) is B[p*ldb + j], or B[j*ldb + p] when `bT`.
 * Loop order (BLIS): column blocks of NC → K blocks (pack B) → row blocks of MC (pack A) →
 * B micro-panels → A micro-panels → micro-kernel over kc.
 */
function gemm(
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  lda: number,
  aT: boolean,
  B: FloatArray,
  ldb: number,
  bT: boolean,
  out: FloatArray,
): void {
  const is32 = out instanceof Float32Array;
  // Equal K blocks (784 → 4×196, not 3×256 + 16): no short block paying the per-tile cost.
  const kb = Math.ceil(k / Math.ceil(k / KC));
  for (let jc = 0; jc < c; jc += NC) {
    const nc = Math.min(NC, c - jc);
    for (let pc = 0; pc < k; pc += kb) {
      const kc = Math.min(kb, k - pc);
      const add = pc > 0;
      if (bT) packStrips3(B, ldb, jc, nc, pc, kc, B_OFF);
      else packRows3(B, ldb, jc, nc, pc, kc, B_OFF);
      for (let ic = 0; ic < r; ic += MC) {
        const mc = Math.min(MC, r - ic);
        if (aT) packRows2(A, lda, ic, mc, pc, kc, 0);
        else packStrips2(A, lda, ic, mc, pc, kc, 0);
        const aStep = kc * MR;
        const bStep = kc * NR;
        for (let jr = 0, bo = B_OFF; jr < nc; jr += NR, bo += bStep) {
          const nr = Math.min(nc - jr, NR);
          const j = jc + jr;
          for (let ir = 0, ao = 0; ir < mc; ir += MR, ao += aStep) {
            const i = ic + ir;
            if (nr === NR && mc - ir >= MR) {
              if (is32) micro32(kc, ao, bo, out as Float32Array, i * c + j, c, add);
              else micro64(kc, ao, bo, out as Float64Array, i * c + j, c, add);
            } else {
              micro64(kc, ao, bo, TILE, 0, NR, false);
              flushTile(out, c, i, j, Math.min(mc - ir, MR), nr, add);
            }
          }
        }
      }
    }
  }
}

/** Row accumulator of the tiny-product path for Float32Array outputs (c ≤ SMALL there). */
const ROW = new Float64Array(SMALL);

/**
 * Tiny products, no packing. op(A)(i, p) = A[i*ai + p*ap]. When op(B)'s rows are contiguous
 * (B[p*ldb + j]) each out row is built as Σ_p a_ip·B[p, :], streaming B rows; otherwise (A·Bᵀ)
 * each element is a dot product of two contiguous runs. Both sum over p in increasing order in
 * double and round once, like the reference loops.
 */
function small(
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  ai: number,
  ap: number,
  B: FloatArray,
  ldb: number,
  bT: boolean,
  out: FloatArray,
): void {
  if (bT) {
    for (let i = 0; i < r; i++) {
      const a0 = i * ai;
      const o = i * c;
      for (let j = 0; j < c; j++) {
        let s = 0;
        let x = a0;
        let y = j * ldb;
        for (let p = 0; p < k; p++) {
          s += A[x]! * B[y]!;
          x += ap;
          y++;
        }
        out[o + j] = s;
      }
    }
  } else if (out instanceof Float64Array) {
    for (let i = 0; i < r; i++) {
      const o = i * c;
      const a = A[i * ai]!;
      for (let j = 0; j < c; j++) out[o + j] = a * B[j]!;
      for (let p = 1; p < k; p++) {
        const a = A[i * ai + p * ap]!;
        const y = p * ldb;
        for (let j = 0; j < c; j++) out[o + j] = out[o + j]! + a * B[y + j]!;
      }
    }
  } else {
    for (let i = 0; i < r; i++) {
      const a = A[i * ai]!;
      for (let j = 0; j < c; j++) ROW[j] = a * B[j]!;
      for (let p = 1; p < k; p++) {
        const a = A[i * ai + p * ap]!;
        const y = p * ldb;
        for (let j = 0; j < c; j++) ROW[j] = ROW[j]! + a * B[y + j]!;
      }
      const o = i * c;
      for (let j = 0; j < c; j++) out[o + j] = ROW[j]!;
    }
  }
}

function product(
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  lda: number,
  aT: boolean,
  B: FloatArray,
  ldb: number,
  bT: boolean,
  out: FloatArray,
): void {
  if (r === 0 || c === 0) return;
  if (k === 0) {
    out.fill(0, 0, r * c);
    return;
  }
  if (r * c * k <= SMALL) small(r, c, k, A, aT ? 1 : lda, aT ? lda : 1, B, ldb, bT, out);
  else gemm(r, c, k, A, lda, aT, B, ldb, bT, out);
}

/** Packed, blocked TypeScript kernels: the default implementation. */
export const blockedKernels: Kernels = {
  matmul(A: Matrix, B: Matrix, out: Matrix) {
    // A: (r, k), B: (k, c)
    product(A.rows, B.cols, A.cols, A.data, A.cols, false, B.data, B.cols, false, out.data);
  },
  matmulTransB(A: Matrix, B: Matrix, out: Matrix) {
    // A: (r, k), B: (c, k)
    product(A.rows, B.rows, A.cols, A.data, A.cols, false, B.data, B.cols, true, out.data);
  },
  matmulTransA(A: Matrix, B: Matrix, out: Matrix) {
    // A: (k, r), B: (k, c)
    product(A.cols, B.cols, A.rows, A.data, A.cols, true, B.data, B.cols, false, out.data);
  },
};
