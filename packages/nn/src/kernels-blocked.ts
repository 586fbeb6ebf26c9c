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

/**
 * Pack op(X) rows [x0, x0+nx) × depth [p0, p0+kc) into micro-panels of width w at PACK[o...]:
 * op(X)(x, p) = src[x*sx + p*sp]; panel q (rows x0+q*w...) starts at o + q*kc*w and holds
 * (x, p) at (p-p0)*w + (x - x0 - q*w). Rows past nx are zero. With sx === 1 (rows of the source
 * run along x, e.g. B of a plain product) each source row is walked once; otherwise each panel
 * reads w streams along p.
 */
function pack(
  src: FloatArray,
  sx: number,
  sp: number,
  x0: number,
  nx: number,
  p0: number,
  kc: number,
  w: number,
  o: number,
): void {
  const full = nx - (nx % w);
  const panel = kc * w;
  if (sx === 1 && sp !== 1) {
    for (let p = 0; p < kc; p++) {
      let s = x0 + (p0 + p) * sp;
      let d = o + p * w;
      if (w === 3) {
        for (let x = 0; x < full; x += 3) {
          PACK[d] = src[s]!;
          PACK[d + 1] = src[s + 1]!;
          PACK[d + 2] = src[s + 2]!;
          s += 3;
          d += panel;
        }
      } else {
        for (let x = 0; x < full; x += 2) {
          PACK[d] = src[s]!;
          PACK[d + 1] = src[s + 1]!;
          s += 2;
          d += panel;
        }
      }
      for (let x = 0; x < w && full < nx; x++) PACK[d + x] = full + x < nx ? src[s + x]! : 0;
    }
    return;
  }
  for (let q = 0; q < full; q += w) {
    let d = o + q * kc;
    let s0 = (x0 + q) * sx + p0 * sp;
    let s1 = s0 + sx;
    if (w === 3) {
      let s2 = s1 + sx;
      for (let p = 0; p < kc; p++) {
        PACK[d] = src[s0]!;
        PACK[d + 1] = src[s1]!;
        PACK[d + 2] = src[s2]!;
        d += 3;
        s0 += sp;
        s1 += sp;
        s2 += sp;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        PACK[d] = src[s0]!;
        PACK[d + 1] = src[s1]!;
        d += 2;
        s0 += sp;
        s1 += sp;
      }
    }
  }
  if (full < nx) {
    let d = o + full * kc;
    const s = (x0 + full) * sx + p0 * sp;
    for (let p = 0; p < kc; p++) {
      for (let x = 0; x < w; x++) PACK[d + x] = full + x < nx ? src[s + x * sx + p * sp]! : 0;
      d += w;
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
 * out (r×c, row-major) = op(A)·op(B) with op(A)(i,p) = A[i*ai + p*ap] and op(B)(p,j) = B[p*bp + j*bj].
 * Loop order (BLIS): column blocks of NC → K blocks of KC (pack B) → row blocks of MC (pack A) →
 * B micro-panels → A micro-panels → micro-kernel over kc.
 */
function gemm(
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  ai: number,
  ap: number,
  B: FloatArray,
  bp: number,
  bj: number,
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
      pack(B, bj, bp, jc, nc, pc, kc, NR, B_OFF);
      for (let ic = 0; ic < r; ic += MC) {
        const mc = Math.min(MC, r - ic);
        pack(A, ai, ap, ic, mc, pc, kc, MR, 0);
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

/**
 * Plain loops for tiny products, same strided view as gemm: each out element is one dot product
 * over p, accumulated in double and written once.
 */
function small(
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  ai: number,
  ap: number,
  B: FloatArray,
  bp: number,
  bj: number,
  out: FloatArray,
): void {
  for (let i = 0; i < r; i++) {
    const a0 = i * ai;
    const o = i * c;
    for (let j = 0; j < c; j++) {
      let s = 0;
      let x = a0;
      let y = j * bj;
      for (let p = 0; p < k; p++) {
        s += A[x]! * B[y]!;
        x += ap;
        y += bp;
      }
      out[o + j] = s;
    }
  }
}

function product(
  r: number,
  c: number,
  k: number,
  A: FloatArray,
  ai: number,
  ap: number,
  B: FloatArray,
  bp: number,
  bj: number,
  out: FloatArray,
): void {
  if (r === 0 || c === 0) return;
  if (k === 0) {
    out.fill(0, 0, r * c);
    return;
  }
  if (r * c * k <= SMALL) small(r, c, k, A, ai, ap, B, bp, bj, out);
  else gemm(r, c, k, A, ai, ap, B, bp, bj, out);
}

/** Packed, blocked TypeScript kernels: the default implementation. */
export const blockedKernels: Kernels = {
  matmul(A: Matrix, B: Matrix, out: Matrix) {
    // A: (r, k), B: (k, c)
    const k = A.cols;
    const c = B.cols;
    product(A.rows, c, k, A.data, k, 1, B.data, c, 1, out.data);
  },
  matmulTransB(A: Matrix, B: Matrix, out: Matrix) {
    // A: (r, k), B: (c, k)
    const k = A.cols;
    product(A.rows, B.rows, k, A.data, k, 1, B.data, 1, k, out.data);
  },
  matmulTransA(A: Matrix, B: Matrix, out: Matrix) {
    // A: (k, r), B: (k, c)
    const r = A.cols;
    const c = B.cols;
    product(r, c, A.rows, A.data, 1, r, B.data, c, 1, out.data);
  },
};
