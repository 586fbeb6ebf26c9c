/**
 * WebAssembly SIMD matrix products (f64x2 for float64, f32x4 for float32) behind the `Kernels`
 * interface. The module is generated and assembled from scripts/gemm-wat.ts (see its comment for
 * the micro-kernel and the summation order); its bytes arrive as base64 in a TypeScript module,
 * so no `fs` or fetch is involved, and it is compiled synchronously at import (it is under 4 KiB,
 * the size browsers allow for synchronous compilation on a main thread).
 *
 * How operands get in and out. The kernels run on WebAssembly linear memory, so the JavaScript
 * side copies blocks of the operands in and the results out (BLIS loop order, as in
 * kernels-blocked.ts):
 *   for each column block of out (nc ≤ NC columns)
 *     for each K block (kc ≤ KC deep): copy op(B)'s kc×nc block in (one `set` when it is one
 *       contiguous range, else one `set` per line); B = op(B) is then read in place, row by row,
 *       a transposed B is packed into NR-wide micro-panels (in wasm, SIMD transposes)
 *       for each row block (MC rows): copy op(A)'s block in and pack it into MR-wide panels, then
 *         run the micro-kernels over the block, accumulating into the C block in linear memory
 *     copy the C block (r rows × nc) out into `out` (one `set` per row, or one for the whole).
 * Every B element is copied once, every A element once per column block, the result once; the
 * copies are memcpy-speed `TypedArray.prototype.set` calls. bench/products.ts measures their share
 * (5–17 % of W4's products, up to ~50 % for the cat networks' memory-bound first layer).
 *
 * Memory is explicit and bounded: its size is the sum of four regions whose sizes follow from the
 * block sizes (A block MC×KC, B block KC×NC, staging, the C block r×NC, NC shrinking for tall
 * products so the C block stays under C_BLOCK elements), so it does not grow with m or k. It
 * starts at 1 page, grows on demand to the largest product seen so far (WebAssembly memory cannot
 * shrink) and never beyond MAX_BYTES; a product that would need more (an out of millions of
 * rows: the C block keeps all r rows of at least one tile column) runs on the blocked TypeScript
 * kernels instead. Each thread that imports the package has its own memory.
 *
 * Falls back to the blocked kernels for: tiny products (copy and call overhead exceed the work),
 * operands or out of mixed dtypes, and products past the memory bound.
 *
 * Element-wise work: relu lives in the products' module; tanh, its derivative, sigmoid and the
 * binary cross-entropy's sum in a second module (scripts/math-wat.ts, kept apart so each stays
 * under 4 KiB) on the same memory, in float64 (float32 arrays are widened on the copy in and
 * rounded on the copy out, as the loops do). Where that module does not load, those stay on the
 * JavaScript loops and everything else is unchanged.
 */

import { blockedProduct } from './kernels-blocked.ts';
import {
  type GeneralProduct,
  type Kernels,
  productsOf,
  type StridedProduct,
  stridedCall,
} from './kernels-interface.ts';
import { KERNELS_WASM_BASE64 } from './kernels-wasm-binary.ts';
import { KERNELS_WASM_MATH_BASE64 } from './kernels-wasm-math-binary.ts';
import type { FloatArray, Matrix } from './matrix.ts';

/** Depth of one K block. */
const KC = 256;
/** Rows of one packed A block (a multiple of every MR). */
const MC = 128;
/** Columns of one B block at most (a multiple of every NR). */
const NC = 1024;
/** The C block r_pad × nc_pad stays under this many elements (NC shrinks for tall products). */
const C_BLOCK = 1 << 19;
/** Linear memory never grows beyond this many bytes unless `maxBytes` says otherwise. */
export const MAX_BYTES = 256 * 1024 * 1024;
/** Up to this many multiply-adds a product runs on the blocked kernels (copy and call overhead). */
export const SMALL_PRODUCT = 4096;
/**
 * Up to this many elements the element-wise math stays on the JavaScript loops: a call into
 * WebAssembly and the copies cost ~0.1 µs, what `Math.tanh` takes for about 8 elements (~13 ns).
 */
export const TINY_ELEMENTWISE = 8;

const PAGE = 65536;

type Block = (
  mc: number,
  nc: number,
  kc: number,
  ap: number,
  bp: number,
  bld: number,
  bstep: number,
  cp: number,
  ldc: number,
  first: number,
) => void;

interface Exports {
  pack_rows(src: number, nx: number, kc: number, dst: number, w: number, es: number): void;
  pack_strips(src: number, nx: number, kc: number, dst: number, w: number, es: number): void;
  pack_strips_f64(src: number, panels: number, kc: number, dst: number): void;
  pack_strips_f32(src: number, panels: number, kc: number, dst: number): void;
  block_f64: Block;
  block_f32: Block;
  relu_f64(src: number, dst: number, n: number): void;
  relu_f32(src: number, dst: number, n: number): void;
  relu_back_f64(da: number, z: number, dz: number, n: number): void;
  relu_back_f32(da: number, z: number, dz: number, n: number): void;
}

/** The element-wise math module (scripts/math-wat.ts), on the same memory. */
interface MathExports {
  tanh_f64(src: number, dst: number, n: number): void;
  tanh_back_f64(da: number, a: number, dz: number, n: number): void;
  sigmoid_f64(src: number, dst: number, n: number): void;
  bce_sum_f64(z: number, y: number, n: number): number;
}

/** Micro-tile shape per dtype: must match TILES in scripts/gemm-wat.ts (tests check results). */
const TILE = {
  float64: { mr: 4, nr: 4, es: 8 },
  float32: { mr: 4, nr: 8, es: 4 },
} as const;

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 → bytes (no `atob` or `Buffer`: neither is in every runtime's type set). */
function decode(base64: string): Uint8Array<ArrayBuffer> {
  const digits = base64.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((digits.length * 3) / 4));
  let acc = 0;
  let bitCount = 0;
  let n = 0;
  for (let i = 0; i < digits.length; i++) {
    acc = ((acc << 6) | BASE64.indexOf(digits[i]!)) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes[n++] = (acc >> bitCount) & 0xff;
    }
  }
  return bytes;
}

/**
 * The parts of the WebAssembly JavaScript API used here. The package's type set (ES2023, no DOM,
 * no Node types in its build) does not declare `WebAssembly`, so it is read from globalThis and
 * checked before use.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmRuntime {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

function wasmRuntime(): WasmRuntime | null {
  const w: WasmRuntime | undefined = Reflect.get(globalThis, 'WebAssembly');
  return typeof w === 'object' && w !== null && typeof w.validate === 'function' ? w : null;
}

/** The module's bytes (exported for the reproducibility test). */
export function kernelsWasmBytes(): Uint8Array<ArrayBuffer> {
  return decode(KERNELS_WASM_BASE64);
}

/** The element-wise math module's bytes (exported for the reproducibility test). */
export function kernelsWasmMathBytes(): Uint8Array<ArrayBuffer> {
  return decode(KERNELS_WASM_MATH_BASE64);
}

/**
 * Whether this runtime can run the kernels: `WebAssembly.validate` of the module itself, so the
 * check covers exactly the features it uses (SIMD, bulk memory) and nothing else.
 */
export function wasmSimdSupported(bytes: Uint8Array<ArrayBuffer> = kernelsWasmBytes()): boolean {
  return wasmRuntime()?.validate(bytes) ?? false;
}

function isExports(x: Record<string, unknown>): x is Record<string, unknown> & Exports {
  return [
    'pack_rows',
    'pack_strips',
    'pack_strips_f64',
    'pack_strips_f32',
    'block_f64',
    'block_f32',
    'relu_f64',
    'relu_f32',
    'relu_back_f64',
    'relu_back_f32',
  ].every((n) => typeof x[n] === 'function');
}

function isMathExports(x: Record<string, unknown>): x is Record<string, unknown> & MathExports {
  return ['tanh_f64', 'tanh_back_f64', 'sigmoid_f64', 'bce_sum_f64'].every((n) => typeof x[n] === 'function');
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

export interface WasmKernels extends Kernels {
  /** The size of this instance's linear memory now (it only grows, up to maxBytes). */
  memoryBytes(): number;
}

export interface WasmKernelOptions {
  /** Products of at most this many multiply-adds run on the blocked kernels (default SMALL_PRODUCT). */
  readonly smallProduct?: number;
  /** Upper bound of linear memory, bytes (default MAX_BYTES); larger products fall back. */
  readonly maxBytes?: number;
  /** The module's bytes (default: the committed build); tests pass broken ones. */
  readonly bytes?: Uint8Array<ArrayBuffer>;
  /**
   * The element-wise math module's bytes (default: the committed build). Where it does not load,
   * the products still run in WebAssembly and the element-wise math stays on the JavaScript loops.
   */
  readonly mathBytes?: Uint8Array<ArrayBuffer>;
  /** Element-wise math (tanh, sigmoid, the cost) on fewer elements runs on the caller's loop (default TINY_ELEMENTWISE). */
  readonly tinyElementwise?: number;
  /**
   * false skips the micro-kernels and keeps the copies and packing, so bench/products.ts can time
   * what moving operands in and out costs (the results are then meaningless).
   */
  readonly arithmetic?: boolean;
}

/**
 * Instantiate the kernels, or null where WebAssembly SIMD is missing or synchronous compilation is
 * refused (then the blocked TypeScript kernels are the default).
 */
export function createWasmKernels(options: WasmKernelOptions = {}): WasmKernels | null {
  const bytes = options.bytes ?? kernelsWasmBytes();
  const small = options.smallProduct ?? SMALL_PRODUCT;
  const arithmetic = options.arithmetic ?? true;
  const maxBytes = Math.min(options.maxBytes ?? MAX_BYTES, 65536 * PAGE);
  const runtime = wasmRuntime();
  if (runtime === null || !runtime.validate(bytes)) return null;
  let memory: WasmMemory;
  let wasm: Exports;
  try {
    memory = new runtime.Memory({ initial: 1, maximum: Math.max(1, Math.floor(maxBytes / PAGE)) });
    const instance = new runtime.Instance(new runtime.Module(bytes), { env: { memory } });
    if (!isExports(instance.exports)) return null;
    wasm = instance.exports;
  } catch {
    return null;
  }
  let math: MathExports | null = null;
  try {
    const mathBytes = options.mathBytes ?? kernelsWasmMathBytes();
    if (runtime.validate(mathBytes)) {
      const instance = new runtime.Instance(new runtime.Module(mathBytes), { env: { memory } });
      if (isMathExports(instance.exports)) math = instance.exports;
    }
  } catch {
    math = null;
  }
  const tiny = options.tinyElementwise ?? TINY_ELEMENTWISE;
  // Views of linear memory; a grow detaches the old buffer, so they are recreated after one.
  let f64 = new Float64Array(memory.buffer);
  let f32 = new Float32Array(memory.buffer);

  /** Grow linear memory to at least `bytes`; false past maxBytes. */
  function ensure(bytes: number): boolean {
    if (bytes > maxBytes) return false;
    const have = memory.buffer.byteLength;
    if (bytes > have) {
      memory.grow(Math.ceil((bytes - have) / PAGE));
      f64 = new Float64Array(memory.buffer);
      f32 = new Float32Array(memory.buffer);
    }
    return true;
  }

  /**
   * Copy a block into linear memory at element offset `at`: `lines` runs of `len` elements, run q
   * starting at src[base + q*ld], landing at at + q*dld. One `set` when both sides are adjacent.
   */
  function stage(
    view: FloatArray,
    src: FloatArray,
    base: number,
    ld: number,
    lines: number,
    len: number,
    at: number,
    dld: number = len,
  ): void {
    if ((ld === len && dld === len) || lines === 1) {
      view.set(src.subarray(base, base + lines * len), at);
      return;
    }
    for (let q = 0; q < lines; q++) view.set(src.subarray(base + q * ld, base + q * ld + len), at + q * dld);
  }

  /**
   * Pack staged strips (nx lines of kc) into w-line panels: whole panels of 32-byte rows with the
   * SIMD transposes, the rest (a last partial panel, or other widths) element by element.
   */
  function packStrips(src: number, nx: number, kc: number, dst: number, w: number, es: number): void {
    if (w * es !== 32) {
      wasm.pack_strips(src, nx, kc, dst, w, es);
      return;
    }
    const panels = Math.floor(nx / w);
    if (panels > 0) (es === 8 ? wasm.pack_strips_f64 : wasm.pack_strips_f32)(src, panels, kc, dst);
    const done = panels * w;
    if (done < nx) wasm.pack_strips(src + done * kc * es, nx - done, kc, dst + panels * kc * 32, w, es);
  }

  /**
   * The row stride (elements) for a B block read in place: its own width when the block is one
   * contiguous range (one copy) and that width is not a multiple of 4 cache lines, else an odd
   * number of cache lines. With a stride of 4·2ⁿ lines the kc rows of a micro-panel would fall
   * into a quarter or less of the L1 sets and evict each other as they are read (2 KiB rows,
   * measured: 22 GFLOP/s instead of 28).
   */
  function strideFor(nc: number, contiguous: boolean, es: number): number {
    const bytes = nc * es;
    // rows a multiple of 4 cache lines apart share a quarter of the sets or fewer
    const aliased = bytes % 256 === 0;
    if (contiguous && !aliased) return nc;
    let lines = Math.ceil(bytes / 64);
    if (lines % 2 === 0) lines++;
    return (lines * 64) / es;
  }

  /**
   * The product in linear memory (see StridedProduct for the operands). Returns false (nothing
   * written) for a product of `small` multiply-adds or fewer, where plain loops cost less, for
   * operands of mixed dtypes, and for one that needs more memory than MAX_BYTES.
   */
  const stridedProduct: StridedProduct<boolean> = (r, c, k, A, lda, aT, B, ldb, bT, out) => {
    if (r * c * k <= small) return false;
    const is64 = out instanceof Float64Array;
    // Mixed dtypes would convert on every copy into linear memory: the blocked kernels take them.
    const operandsMatchOut = is64
      ? A instanceof Float64Array && B instanceof Float64Array
      : A instanceof Float32Array && B instanceof Float32Array;
    if (!operandsMatchOut) return false;
    const { mr, nr, es } = is64 ? TILE.float64 : TILE.float32;
    const block = is64 ? wasm.block_f64 : wasm.block_f32;
    // Equal K blocks (784 → 4×196, not 3×256 + 16).
    const kb = Math.ceil(k / Math.ceil(k / KC));
    const rPad = roundUp(r, mr);
    const mcMax = Math.min(MC, rPad);
    const ncMax = Math.min(roundUp(c, nr), NC, Math.max(nr, Math.floor(C_BLOCK / rPad / nr) * nr));
    // Regions, in elements; each starts on a 16-byte boundary (element counts are multiples of 4).
    // B rows that are contiguous lines (op(B) = B) are read in place from their staged copy;
    // a transposed B is packed into micro-panels.
    // One column block (all of B's width, the cat networks' 209 columns): its rows are one
    // contiguous range when B is not a view into wider rows, and go in with one copy.
    const oneBlock = ncMax >= c;
    const ldB = bT ? 0 : strideFor(oneBlock ? c : ncMax, oneBlock && ldb === c, es);
    const aPack = 0;
    const bPack = aPack + roundUp(mcMax * kb, 4);
    const stg = bPack + roundUp(Math.max(ncMax * kb, ldB * kb + nr), 4);
    const cBlock = stg + roundUp(Math.max(mcMax, ncMax) * kb, 4);
    const end = cBlock + rPad * ncMax;
    if (!ensure(end * es)) return false;
    const view = is64 ? f64 : f32;
    for (let jc = 0; jc < c; jc += ncMax) {
      const nc = Math.min(ncMax, c - jc);
      const ncPad = roundUp(nc, nr);
      for (let pc = 0; pc < k; pc += kb) {
        const kc = Math.min(kb, k - pc);
        let bld = nr * es;
        let bstep = kc * nr * es;
        if (bT) {
          stage(view, B, jc * ldb + pc, ldb, nc, kc, stg);
          packStrips(stg * es, nc, kc, bPack * es, nr, es);
        } else {
          stage(view, B, pc * ldb + jc, ldb, kc, nc, bPack, ldB);
          bld = ldB * es;
          bstep = nr * es;
        }
        for (let ic = 0; ic < r; ic += MC) {
          const mc = Math.min(MC, r - ic);
          if (aT) {
            stage(view, A, pc * lda + ic, lda, kc, mc, stg);
            wasm.pack_rows(stg * es, mc, kc, aPack * es, mr, es);
          } else {
            stage(view, A, ic * lda + pc, lda, mc, kc, stg);
            packStrips(stg * es, mc, kc, aPack * es, mr, es);
          }
          const cp = (cBlock + ic * ncPad) * es;
          if (arithmetic)
            block(mc, nc, kc, aPack * es, bPack * es, bld, bstep, cp, ncPad * es, pc === 0 ? 1 : 0);
        }
      }
      if (ncPad === c) out.set(view.subarray(cBlock, cBlock + r * c));
      else
        for (let i = 0; i < r; i++) {
          const from = cBlock + i * ncPad;
          out.set(view.subarray(from, from + nc), i * c + jc);
        }
    }
    return true;
  };

  /** Products of one dtype too large for the plain loops run here; the rest in the blocked kernels. */
  const product: GeneralProduct = (A, aT, B, bT, out) => {
    if (!stridedCall(stridedProduct, A, aT, B, bT, out)) blockedProduct(A, aT, B, bT, out);
  };

  /** Element-wise work runs in chunks of this many elements (bounded memory, cache-sized). */
  const CHUNK = 16384;

  /**
   * relu over whole arrays in chunks: copy in, SIMD, copy out. Declines (false) below `small`
   * elements or for mixed dtypes, where the caller's JavaScript loop costs less.
   */
  function reluForward(Z: Matrix, A: Matrix): boolean {
    const z = Z.data;
    const a = A.data;
    const n = z.length;
    const is64 = z instanceof Float64Array && a instanceof Float64Array;
    if (n <= small || !(is64 || (z instanceof Float32Array && a instanceof Float32Array))) return false;
    const es = is64 ? 8 : 4;
    if (!ensure(CHUNK * es)) return false;
    const view = is64 ? f64 : f32;
    const run = is64 ? wasm.relu_f64 : wasm.relu_f32;
    for (let o = 0; o < n; o += CHUNK) {
      const len = Math.min(CHUNK, n - o);
      view.set(z.subarray(o, o + len), 0);
      run(0, 0, len);
      a.set(view.subarray(0, len), o);
    }
    return true;
  }

  function reluBackward(dA: Matrix, Z: Matrix, dZ: Matrix): boolean {
    const da = dA.data;
    const z = Z.data;
    const dz = dZ.data;
    const n = z.length;
    const is64 = da instanceof Float64Array && z instanceof Float64Array && dz instanceof Float64Array;
    const is32 = da instanceof Float32Array && z instanceof Float32Array && dz instanceof Float32Array;
    if (n <= small || !(is64 || is32)) return false;
    const es = is64 ? 8 : 4;
    if (!ensure(2 * CHUNK * es)) return false;
    const view = is64 ? f64 : f32;
    const run = is64 ? wasm.relu_back_f64 : wasm.relu_back_f32;
    for (let o = 0; o < n; o += CHUNK) {
      const len = Math.min(CHUNK, n - o);
      view.set(da.subarray(o, o + len), 0);
      view.set(z.subarray(o, o + len), CHUNK);
      run(0, CHUNK * es, 0, len);
      dz.set(view.subarray(0, len), o);
    }
    return true;
  }

  /** Whether the arrays share one dtype (a product of both would convert on every copy). */
  const sameDtype = (arrays: readonly FloatArray[]) =>
    arrays.every((x) => x instanceof Float64Array) || arrays.every((x) => x instanceof Float32Array);

  /**
   * Run `kernel` over the inputs in chunks of CHUNK elements in float64 linear memory (input q at
   * element q·CHUNK; float32 inputs widened by the copy), its result read from element 0 into
   * `out` (rounded to float32 by the copy when out is float32). Declines (false) for tiny arrays,
   * mixed dtypes, or where the math module did not load.
   */
  function elementwise(
    inputs: readonly FloatArray[],
    out: FloatArray | null,
    kernel: (addresses: number[], len: number) => void,
  ): boolean {
    const n = inputs[0]!.length;
    if (math === null || n <= tiny || !sameDtype(out === null ? inputs : [...inputs, out])) return false;
    if (!ensure(inputs.length * CHUNK * 8)) return false;
    const addresses = inputs.map((_, q) => q * CHUNK * 8);
    for (let o = 0; o < n; o += CHUNK) {
      const len = Math.min(CHUNK, n - o);
      for (const [q, x] of inputs.entries()) f64.set(x.subarray(o, o + len), q * CHUNK);
      kernel(addresses, len);
      out?.set(f64.subarray(0, len), o);
    }
    return true;
  }

  /** A = tanh(Z) (math-wat.ts: within 3 ulp of Math.tanh). */
  const tanhForward = (Z: Matrix, A: Matrix) =>
    elementwise([Z.data], A.data, ([z], len) => math?.tanh_f64(z!, z!, len));

  /** dZ = dA ⊙ (1 − A²), the loop's bits. */
  const tanhBackward = (dA: Matrix, A: Matrix, dZ: Matrix) =>
    elementwise([dA.data, A.data], dZ.data, ([da, a], len) => math?.tanh_back_f64(da!, a!, da!, len));

  /** A = σ(Z) (within 3 ulp of the loop's 1 / (1 + Math.exp(−z))). */
  const sigmoidForward = (Z: Matrix, A: Matrix) =>
    elementwise([Z.data], A.data, ([z], len) => math?.sigmoid_f64(z!, z!, len));

  /** Σ max(z, 0) − y·z + log1p(e^(−|z|)), summed per chunk in two lanes; undefined when it declines. */
  function binaryCrossEntropySum(Z: Matrix, Y: Matrix): number | undefined {
    let sum = 0;
    const done = elementwise([Z.data, Y.data], null, ([z, y], len) => {
      sum += math?.bce_sum_f64(z!, y!, len) ?? Number.NaN;
    });
    return done ? sum : undefined;
  }

  return {
    memoryBytes: () => memory.buffer.byteLength,
    reluForward,
    reluBackward,
    tanhForward,
    tanhBackward,
    sigmoidForward,
    binaryCrossEntropySum,
    ...productsOf(product),
  };
}
