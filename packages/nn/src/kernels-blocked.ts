/**
 * Fast pure-TypeScript matrix products: packed, cache-blocked, register-blocked (the GotoBLAS/BLIS
 * scheme in scalar code).
 *
 * One general product out = op(A)·op(B) serves all three variants; a transposed operand is only
 * another layout to pack from. Each block of op(A) (MC×KC) and op(B) (KC×NC) is packed into
 * micro-panels that the inner loop reads with unit stride: an A micro-panel holds MR=2 rows
 * interleaved by k, a B micro-panel NR=3 columns. Panels past the matrix edge are zero-padded, so
 * the micro-kernel always computes a full 2×3 tile; edge tiles go through a 6-element scratch tile
 * and only their valid part is written.
 *
 * Why 2×3: V8 keeps doubles in 15 xmm registers and schedules all products of one k step before
 * their sums, so larger tiles (4×4, 2×4, 3×3) spill accumulators; measured on Zen 5 under Node 20,
 * the 2×3 micro-kernel reaches ~12 GFLOP/s from cache against ~6 for 4×4. Index arithmetic is
 * written `(x + n) | 0` so V8 emits plain int32 adds without overflow checks.
 *
 * Why module-level scratch arrays: in a loop over a typed array that arrives as a parameter, V8
 * (Node 20) re-checks the array's map and reloads its length and data pointer on every access
 * (~0.8 ns per element against ~0.3 for a plain copy); for an array it can treat as a constant it
 * does not. So the hot loops only touch the module's own buffers (PACK, STAGE, the tiny-product
 * buffers): contiguous operand blocks come in with `TypedArray.prototype.set` (a memcpy, or a
 * conversion from float32), other blocks are packed straight from the operand, and results go out
 * through a handful of stores per micro-tile or one `set`. Sharing these buffers is safe: a
 * product never calls out before it is done, and each worker thread has its own module instance.
 *
 * Float32 operands are widened on the way in: products and sums run in double (as the reference
 * loops do) and are rounded when written to a Float32Array `out` (once per K block).
 *
 * Tiny products (the planar network's 4×2·2×400) skip packing: plain loops over the copied
 * operands have less fixed cost.
 *
 * The buffers take ~4.5 MiB of address space at import; pages are touched only by products large
 * enough to use them.
 */
import { productsOf, type StridedProduct, stridedCall } from './kernels-interface.ts';
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

/** Packed micro-panels: the A block at 0, the B block at B_OFF. */
const PACK = new Float64Array((MC + NC) * KC);
const B_OFF = MC * KC;
/** A contiguous block of an operand copied in with one memcpy, before it is interleaved into PACK. */
const STAGE = new Float64Array(Math.max(MC, NC) * KC);
/** Edge tiles land here first; only their valid corner is copied to `out`. */
const TILE = new Float64Array(MR * NR);
/** Tiny products: copies of A and B, and the result (r·k, k·c, r·c ≤ r·c·k ≤ SMALL). */
const SA = new Float64Array(SMALL);
const SB = new Float64Array(SMALL);
const SO = new Float64Array(SMALL);

/*
 * Interleaving STAGE into PACK. A staged block is either "rows" (kc lines of nx: element (x, p) at
 * STAGE[p*nx + x]; B of a plain product, A of Aᵀ·B) or "strips" (nx lines of kc: element (x, p)
 * at STAGE[x*kc + p]; A of a plain product, B of A·Bᵀ). Panel q (rows q*w ... q*w+w-1 of the
 * block) starts at PACK[o + q*kc*w] and holds (x, p) at p*w + (x - q*w); rows past nx are zero.
 *
 * The eight packing loops (width 3 or 2, rows or strips, from STAGE or from the operand) are
 * deliberate copies: one shared loop would take the width as a variable (a branch or an inner loop
 * per element) or the source array as a parameter (the per-access checks the file header
 * describes), in the loops every operand element passes through.
 */

function rows3(nx: number, kc: number, o: number): void {
  const full = nx - (nx % 3);
  const panel = kc * 3;
  for (let p = 0; p < kc; p++) {
    let s = (p * nx) | 0;
    let d = (o + p * 3) | 0;
    for (let x = 0; x < full; x = (x + 3) | 0) {
      PACK[d] = STAGE[s]!;
      PACK[(d + 1) | 0] = STAGE[(s + 1) | 0]!;
      PACK[(d + 2) | 0] = STAGE[(s + 2) | 0]!;
      s = (s + 3) | 0;
      d = (d + panel) | 0;
    }
    if (full < nx) {
      PACK[d] = STAGE[s]!;
      PACK[d + 1] = full + 1 < nx ? STAGE[s + 1]! : 0;
      PACK[d + 2] = 0;
    }
  }
}

function rows2(nx: number, kc: number, o: number): void {
  const full = nx - (nx % 2);
  const panel = kc * 2;
  for (let p = 0; p < kc; p++) {
    let s = (p * nx) | 0;
    let d = (o + p * 2) | 0;
    for (let x = 0; x < full; x = (x + 2) | 0) {
      PACK[d] = STAGE[s]!;
      PACK[(d + 1) | 0] = STAGE[(s + 1) | 0]!;
      s = (s + 2) | 0;
      d = (d + panel) | 0;
    }
    if (full < nx) {
      PACK[d] = STAGE[s]!;
      PACK[d + 1] = 0;
    }
  }
}

function strips3(nx: number, kc: number, o: number): void {
  const full = nx - (nx % 3);
  for (let q = 0; q < full; q += 3) {
    let d = (o + q * kc) | 0;
    let s = (q * kc) | 0;
    const end = (s + kc) | 0;
    const kc2 = kc * 2;
    for (; s < end; s = (s + 1) | 0) {
      PACK[d] = STAGE[s]!;
      PACK[(d + 1) | 0] = STAGE[(s + kc) | 0]!;
      PACK[(d + 2) | 0] = STAGE[(s + kc2) | 0]!;
      d = (d + 3) | 0;
    }
  }
  if (full < nx) {
    let d = o + full * kc;
    const s = full * kc;
    const two = full + 1 < nx;
    for (let p = 0; p < kc; p++) {
      PACK[d] = STAGE[s + p]!;
      PACK[d + 1] = two ? STAGE[s + kc + p]! : 0;
      PACK[d + 2] = 0;
      d += 3;
    }
  }
}

function strips2(nx: number, kc: number, o: number): void {
  const full = nx - (nx % 2);
  for (let q = 0; q < full; q += 2) {
    let d = (o + q * kc) | 0;
    let s = (q * kc) | 0;
    const end = (s + kc) | 0;
    for (; s < end; s = (s + 1) | 0) {
      PACK[d] = STAGE[s]!;
      PACK[(d + 1) | 0] = STAGE[(s + kc) | 0]!;
      d = (d + 2) | 0;
    }
  }
  if (full < nx) {
    let d = o + full * kc;
    const s = full * kc;
    for (let p = 0; p < kc; p++) {
      PACK[d] = STAGE[s + p]!;
      PACK[d + 1] = 0;
      d += 2;
    }
  }
}

/*
 * Packing straight from the operand, for blocks that are not one contiguous range (W4's 10000
 * columns split into NC blocks, or K split into KC blocks of a transposed operand). Same layouts as
 * above with src[base + p*ld + x] (rows) or src[base + x*ld + p] (strips).
 */

function srcRows3(src: FloatArray, base: number, ld: number, nx: number, kc: number, o: number): void {
  const full = nx - (nx % 3);
  const panel = kc * 3;
  for (let p = 0; p < kc; p++) {
    let s = (base + p * ld) | 0;
    let d = (o + p * 3) | 0;
    for (let x = 0; x < full; x = (x + 3) | 0) {
      PACK[d] = src[s]!;
      PACK[(d + 1) | 0] = src[(s + 1) | 0]!;
      PACK[(d + 2) | 0] = src[(s + 2) | 0]!;
      s = (s + 3) | 0;
      d = (d + panel) | 0;
    }
    if (full < nx) {
      PACK[d] = src[s]!;
      PACK[d + 1] = full + 1 < nx ? src[s + 1]! : 0;
      PACK[d + 2] = 0;
    }
  }
}

function srcRows2(src: FloatArray, base: number, ld: number, nx: number, kc: number, o: number): void {
  const full = nx - (nx % 2);
  const panel = kc * 2;
  for (let p = 0; p < kc; p++) {
    let s = (base + p * ld) | 0;
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

function srcStrips3(src: FloatArray, base: number, ld: number, nx: number, kc: number, o: number): void {
  const full = nx - (nx % 3);
  const ld2 = 2 * ld;
  for (let q = 0; q < full; q += 3) {
    let d = (o + q * kc) | 0;
    let s = (base + q * ld) | 0;
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
    const s = base + full * ld;
    const two = full + 1 < nx;
    for (let p = 0; p < kc; p++) {
      PACK[d] = src[s + p]!;
      PACK[d + 1] = two ? src[s + ld + p]! : 0;
      PACK[d + 2] = 0;
      d += 3;
    }
  }
}

function srcStrips2(src: FloatArray, base: number, ld: number, nx: number, kc: number, o: number): void {
  const full = nx - (nx % 2);
  for (let q = 0; q < full; q += 2) {
    let d = (o + q * kc) | 0;
    let s = (base + q * ld) | 0;
    const end = (s + kc) | 0;
    for (; s < end; s = (s + 1) | 0) {
      PACK[d] = src[s]!;
      PACK[(d + 1) | 0] = src[(s + ld) | 0]!;
      d = (d + 2) | 0;
    }
  }
  if (full < nx) {
    let d = o + full * kc;
    const s = base + full * ld;
    for (let p = 0; p < kc; p++) {
      PACK[d] = src[s + p]!;
      PACK[d + 1] = 0;
      d += 2;
    }
  }
}

/**
 * Pack a block into PACK at o: `lines` runs of `len` elements, run q starting at src[base + q*ld]
 * (rows: kc lines of nx; strips: nx lines of kc). A block that is one contiguous range (the whole
 * width, or the whole depth) is copied into STAGE with one memcpy and interleaved from there;
 * otherwise it is packed straight from src.
 */
function packBlock(
  src: FloatArray,
  base: number,
  ld: number,
  strips: boolean,
  w: number,
  nx: number,
  kc: number,
  o: number,
): void {
  const lines = strips ? nx : kc;
  const len = strips ? kc : nx;
  if (ld === len || lines === 1) {
    STAGE.set(src.subarray(base, base + lines * len));
    if (strips) {
      if (w === 3) strips3(nx, kc, o);
      else strips2(nx, kc, o);
    } else if (w === 3) rows3(nx, kc, o);
    else rows2(nx, kc, o);
  } else if (strips) {
    if (w === 3) srcStrips3(src, base, ld, nx, kc, o);
    else srcStrips2(src, base, ld, nx, kc, o);
  } else if (w === 3) srcRows3(src, base, ld, nx, kc, o);
  else srcRows2(src, base, ld, nx, kc, o);
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

/**
 * micro64 with a Float32Array destination: a deliberate copy, so each keeps one typed-array kind
 * at its stores. Merging them (a FloatArray parameter) was timed on 2026-12-01 with `npm run bench`
 * (--kernels blocked, W1, W2, W4) on a 2-core machine at load 20: rows moved ±30 % between two runs
 * of the same code, so no speed parity could be shown and the copy stays.
 */
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
const gemm: StridedProduct<void> = (r, c, k, A, lda, aT, B, ldb, bT, out) => {
  const is32 = out instanceof Float32Array;
  // Equal K blocks (784 → 4×196, not 3×256 + 16): no short block paying the per-tile cost.
  const kb = Math.ceil(k / Math.ceil(k / KC));
  for (let jc = 0; jc < c; jc += NC) {
    const nc = Math.min(NC, c - jc);
    for (let pc = 0; pc < k; pc += kb) {
      const kc = Math.min(kb, k - pc);
      const add = pc > 0;
      if (bT) packBlock(B, jc * ldb + pc, ldb, true, NR, nc, kc, B_OFF);
      else packBlock(B, pc * ldb + jc, ldb, false, NR, nc, kc, B_OFF);
      for (let ic = 0; ic < r; ic += MC) {
        const mc = Math.min(MC, r - ic);
        if (aT) packBlock(A, pc * lda + ic, lda, false, MR, mc, kc, 0);
        else packBlock(A, ic * lda + pc, lda, true, MR, mc, kc, 0);
        const aStep = kc * MR;
        const bStep = kc * NR;
        for (let jr = 0, bo = B_OFF; jr < nc; jr += NR, bo += bStep) {
          const nr = Math.min(nc - jr, NR);
          const j = jc + jr;
          for (let ir = 0, ao = 0; ir < mc; ir += MR, ao += aStep) {
            const i = ic + ir;
            if (nr === NR && mc - ir >= MR) {
              if (is32) micro32(kc, ao, bo, out, i * c + j, c, add);
              else micro64(kc, ao, bo, out, i * c + j, c, add);
            } else {
              micro64(kc, ao, bo, TILE, 0, NR, false);
              flushTile(out, c, i, j, Math.min(mc - ir, MR), nr, add);
            }
          }
        }
      }
    }
  }
};

/**
 * Tiny products on copies: SA holds A, SB holds B (same layouts), the result is built in SO and
 * copied out with one `set` (which also rounds to float32 for a Float32Array out). op(A)(i, p) is
 * SA[i*ai + p*ap]. When op(B)'s rows are contiguous (B[p*ldb + j]) each out row is built as
 * Σ_p a_ip·B[p, :], up to four B rows per pass; otherwise (A·Bᵀ) each element is a dot product
 * of two contiguous runs. Sums are in double.
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
  SA.set(A.length <= SMALL ? A : A.subarray(0, r * k));
  SB.set(B.length <= SMALL ? B : B.subarray(0, k * c));
  if (bT) {
    // A·Bᵀ: op(A) rows and op(B) columns are both contiguous runs (ap = 1). Two out columns at a
    // time share the A loads; two partial sums per element break the add dependency chain.
    const k2 = k - (k % 2);
    for (let i = 0; i < r; i++) {
      const a0 = i * ai;
      const o = i * c;
      let j = 0;
      for (; j + 2 <= c; j += 2) {
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        let x = a0;
        let y0 = j * ldb;
        let y1 = y0 + ldb;
        for (let p = 0; p < k2; p += 2) {
          const u = SA[x]!;
          const v = SA[x + 1]!;
          s00 += u * SB[y0]!;
          s01 += v * SB[y0 + 1]!;
          s10 += u * SB[y1]!;
          s11 += v * SB[y1 + 1]!;
          x += 2;
          y0 += 2;
          y1 += 2;
        }
        if (k2 < k) {
          s00 += SA[x]! * SB[y0]!;
          s10 += SA[x]! * SB[y1]!;
        }
        SO[o + j] = s00 + s01;
        SO[o + j + 1] = s10 + s11;
      }
      if (j < c) {
        let s0 = 0;
        let s1 = 0;
        let x = a0;
        let y = j * ldb;
        for (let p = 0; p < k2; p += 2) {
          s0 += SA[x]! * SB[y]!;
          s1 += SA[x + 1]! * SB[y + 1]!;
          x += 2;
          y += 2;
        }
        if (k2 < k) s0 += SA[x]! * SB[y]!;
        SO[o + j] = s0 + s1;
      }
    }
  } else {
    for (let i = 0; i < r; i++) {
      const o = i * c;
      const a = i * ai;
      for (let p = 0; p < k; p += 4) {
        const n = Math.min(4, k - p);
        const a0 = SA[a + p * ap]!;
        const a1 = n > 1 ? SA[a + (p + 1) * ap]! : 0;
        const a2 = n > 2 ? SA[a + (p + 2) * ap]! : 0;
        const a3 = n > 3 ? SA[a + (p + 3) * ap]! : 0;
        rowTerms(o, c, p === 0, n, p * ldb, ldb, a0, a1, a2, a3);
      }
    }
  }
  const n = r * c;
  if (n <= 64) {
    // a few stores cost less than the view `subarray` allocates
    for (let j = 0; j < n; j++) out[j] = SO[j]!;
  } else {
    out.set(n === SMALL ? SO : SO.subarray(0, n));
  }
}

/**
 * SO[o + j] (= or +=) Σ_{q<n} a_q·SB[y + q*ldb + j] for j < c: n ≤ 4 rows of B in one pass, terms
 * added left to right so the sum over p keeps its order.
 */
function rowTerms(
  o: number,
  c: number,
  first: boolean,
  n: number,
  y: number,
  ldb: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
): void {
  const y1 = y + ldb;
  const y2 = y1 + ldb;
  const y3 = y2 + ldb;
  if (n === 4) {
    if (first)
      for (let j = 0; j < c; j++)
        SO[o + j] = a0 * SB[y + j]! + a1 * SB[y1 + j]! + a2 * SB[y2 + j]! + a3 * SB[y3 + j]!;
    else
      for (let j = 0; j < c; j++)
        SO[o + j] = SO[o + j]! + a0 * SB[y + j]! + a1 * SB[y1 + j]! + a2 * SB[y2 + j]! + a3 * SB[y3 + j]!;
  } else if (n === 3) {
    if (first) for (let j = 0; j < c; j++) SO[o + j] = a0 * SB[y + j]! + a1 * SB[y1 + j]! + a2 * SB[y2 + j]!;
    else
      for (let j = 0; j < c; j++)
        SO[o + j] = SO[o + j]! + a0 * SB[y + j]! + a1 * SB[y1 + j]! + a2 * SB[y2 + j]!;
  } else if (n === 2) {
    if (first) for (let j = 0; j < c; j++) SO[o + j] = a0 * SB[y + j]! + a1 * SB[y1 + j]!;
    else for (let j = 0; j < c; j++) SO[o + j] = SO[o + j]! + a0 * SB[y + j]! + a1 * SB[y1 + j]!;
  } else if (first) {
    for (let j = 0; j < c; j++) SO[o + j] = a0 * SB[y + j]!;
  } else {
    for (let j = 0; j < c; j++) SO[o + j] = SO[o + j]! + a0 * SB[y + j]!;
  }
}

const product: StridedProduct<void> = (r, c, k, A, lda, aT, B, ldb, bT, out) => {
  if (r === 0 || c === 0) return;
  if (k === 0) {
    out.fill(0, 0, r * c);
    return;
  }
  if (r * c * k <= SMALL) small(r, c, k, A, aT ? 1 : lda, aT ? lda : 1, B, ldb, bT, out);
  else gemm(r, c, k, A, lda, aT, B, ldb, bT, out);
};

/** The blocked general product: what the WebAssembly kernels fall back to where they decline. */
export function blockedProduct(A: Matrix, aT: boolean, B: Matrix, bT: boolean, out: Matrix): void {
  stridedCall(product, A, aT, B, bT, out);
}

/** Packed, blocked TypeScript kernels: the fallback where WebAssembly SIMD is missing. */
export const blockedKernels = productsOf(blockedProduct);
