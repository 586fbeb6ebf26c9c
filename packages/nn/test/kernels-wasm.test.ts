/**
 * The WebAssembly SIMD kernels (src/kernels-wasm.ts) against the plain-loop reference kernels, the
 * reproducibility of the committed binary, the fallback and the memory bound.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, binaryModule, MODULE_PATH, MODULES, WASM_PATH } from '../scripts/build-wasm.ts';
import { reluBackward, reluForward, sigmoidForward, tanhBackward, tanhForward } from '../src/activations.ts';
import { binaryCrossEntropy } from '../src/costs.ts';
import { Network, train } from '../src/index.ts';
import {
  blockedKernels,
  defaultKernels,
  type Kernels,
  kernels,
  referenceKernels,
  wasmKernels,
} from '../src/kernels.ts';
import {
  createWasmKernels,
  kernelsWasmBytes,
  kernelsWasmMathBytes,
  wasmSimdSupported,
} from '../src/kernels-wasm.ts';
import { type DType, type Matrix, zeros } from '../src/matrix.ts';
import { type GoldenCase, loadGoldenCases } from './golden-cases.ts';
import { bits, expectClose, loadPlanar } from './helpers.ts';
import {
  itBehavesAsAKernelSet,
  random,
  randomOperands,
  rng,
  VARIANTS,
  type Variant,
  withKernels,
} from './kernel-cases.ts';
import { planarNetwork } from './networks.ts';

/** Every wasm product, however small, runs in WebAssembly (no blocked fallback for tiny ones). */
const wasmOnly = createWasmKernels({ smallProduct: 0 });

function need<T>(x: T | null): T {
  if (x === null)
    throw new Error('WebAssembly SIMD is missing in this Node: the wasm kernels cannot be tested');
  return x;
}

/**
 * float64: the result must be bit-identical to the reference (same summation order). float32: the
 * wasm kernels sum in float32, the reference in double (rounded once), so each element is allowed
 * the first-order bound of k float32 roundings plus the final one, (k + 2)·2⁻²⁴ of Σ_p |a_ip·b_pj|.
 */
function check(fast: Kernels, v: Variant, r: number, c: number, k: number, dtype: DType, seed: number): void {
  const { A, B } = randomOperands(v, r, c, k, dtype, rng(seed));
  const out = zeros(r, c, dtype);
  out.data.fill(Number.NaN); // every element must be overwritten, never read
  const ref = zeros(r, c, dtype);
  fast[v](A, B, out);
  referenceKernels[v](A, B, ref);
  const where = `${v} ${dtype} r=${r} c=${c} k=${k}`;
  if (dtype === 'float64') {
    if (bits(out.data) !== bits(ref.data)) {
      const i = out.data.findIndex((x, j) => !Object.is(x, ref.data[j]));
      throw new Error(`${where}: element ${i} is ${out.data[i]}, the reference gives ${ref.data[i]}`);
    }
    return;
  }
  const absA = zeros(A.rows, A.cols);
  const absB = zeros(B.rows, B.cols);
  absA.data.set(A.data.map(Math.abs));
  absB.data.set(B.data.map(Math.abs));
  const scale = zeros(r, c);
  referenceKernels[v](absA, absB, scale);
  const tol = (k + 2) * 2 ** -24;
  for (let i = 0; i < out.data.length; i++) {
    const err = Math.abs(out.data[i]! - ref.data[i]!) / (scale.data[i]! + 1e-300);
    if (!(err <= tol)) throw new Error(`${where}: element ${i} off by ${err} of its scale > ${tol}`);
  }
}

// Awkward shapes besides the common ones: primes, and both sides of every block edge: the
// micro-tile (MR = 4 rows, NR = 4 float64 / 8 float32 columns), the K block (256; k = 257 splits
// into 2 × 129), the A row block (MC = 128), the column block (NC = 1024) and the C-block budget
// (2¹⁹ elements: 600 rows make 872-column blocks), B rows whose stride is padded against cache
// aliasing (64 or 1024 columns), plus more of the workloads' own layer shapes.
const SHAPES: (readonly [number, number, number])[] = [
  [2, 3, 5],
  [3, 7, 2],
  [4, 4, 4],
  [4, 8, 3],
  [5, 9, 13],
  [7, 11, 31],
  [8, 16, 256],
  [3, 5, 257],
  [13, 17, 512],
  [11, 3, 513],
  [127, 5, 19],
  [128, 8, 16],
  [129, 9, 17],
  [131, 97, 41],
  [257, 13, 7],
  [5, 1023, 3],
  [4, 1024, 2],
  [6, 1025, 3],
  [3, 2049, 5],
  [600, 1000, 3],
  [20, 209, 1031],
  [1, 5, 209],
  [9, 64, 300],
];

describe('wasm kernels match the reference', () => {
  itBehavesAsAKernelSet(need(wasmOnly), {
    check,
    shapes: SHAPES,
    titles: {
      shapes: 'awkward and block-edge shapes',
      float64: 'bit-identical',
      float32: 'within (k + 2)·2⁻²⁴ of Σ|a·b|',
    },
    maxCols: 300,
  });

  it('default instance (tiny products on the blocked kernels): same results', () => {
    const wd = need(wasmKernels);
    for (const v of VARIANTS) {
      for (const [r, c, k] of [
        [4, 400, 2],
        [10, 1100, 130],
        [2, 3, 5],
      ] as const) {
        const { A, B } = randomOperands(v, r, c, k, 'float64', rng(r * c * k));
        const got = zeros(r, c);
        const want = zeros(r, c);
        wd[v](A, B, got);
        (r * c * k > 4096 ? referenceKernels : blockedKernels)[v](A, B, want);
        expect(bits(got.data)).toBe(bits(want.data));
      }
    }
  });

  it('mixed dtypes run on the blocked kernels (widened to double)', () => {
    const next = rng(99);
    const A32 = random(40, 300, 'float32', next);
    const B64 = random(300, 60, 'float64', next);
    const got = zeros(40, 60);
    const want = zeros(40, 60);
    need(wasmOnly).matmul(A32, B64, got);
    blockedKernels.matmul(A32, B64, want);
    expect(bits(got.data)).toBe(bits(want.data));
  });
});

describe('wasm kernels: memory', () => {
  it('linear memory follows the block sizes, not the operands (64 × 300 · 300 × 20000)', () => {
    const wk = need(createWasmKernels());
    const next = rng(5);
    const A = random(64, 300, 'float64', next);
    const B = random(300, 20000, 'float64', next);
    const out = zeros(64, 20000);
    wk.matmul(A, B, out);
    // operands and out: 56 MiB; the kernels' memory: blocks of ≤ 256 deep and ≤ 1024 columns
    expect(wk.memoryBytes()).toBeLessThan(8 * 1024 * 1024);
    const want = zeros(64, 1);
    const col = zeros(300, 1);
    for (let p = 0; p < 300; p++) col.data[p] = B.data[p * 20000 + 12345]!;
    referenceKernels.matmul(A, col, want);
    for (let i = 0; i < 64; i++) expect(out.data[i * 20000 + 12345]).toBe(want.data[i]);
  });

  it('a product needing more than maxBytes runs on the blocked kernels, and memory stays under the bound', () => {
    const cap = 4 * 65536;
    const wk = need(createWasmKernels({ maxBytes: cap, smallProduct: 0 }));
    const next = rng(11);
    const A = random(30, 200, 'float64', next); // fits: 256 KiB
    const B = random(200, 40, 'float64', next);
    const small = zeros(30, 40);
    wk.matmul(A, B, small);
    const ref = zeros(30, 40);
    referenceKernels.matmul(A, B, ref);
    expect(bits(small.data)).toBe(bits(ref.data));
    const A2 = random(500, 600, 'float64', next); // needs ~2.5 MiB of blocks: falls back
    const B2 = random(600, 700, 'float64', next);
    const got = zeros(500, 700);
    const want = zeros(500, 700);
    wk.matmul(A2, B2, got);
    blockedKernels.matmul(A2, B2, want);
    expect(bits(got.data)).toBe(bits(want.data));
    expect(wk.memoryBytes()).toBeLessThanOrEqual(cap);
  });
});

describe('wasm kernels: selection and fallback', () => {
  it('this Node has WebAssembly SIMD, and the default kernels are the wasm ones', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(wasmKernels).not.toBeNull();
    expect(defaultKernels).toBe(wasmKernels);
    expect(kernels()).toBe(defaultKernels);
  });

  it('a module the runtime cannot validate gives null (the blocked kernels stay the default)', () => {
    const broken = kernelsWasmBytes();
    // The first SIMD prefix (0xfd) turned into an undefined opcode, as on an engine without SIMD.
    const at = broken.indexOf(0xfd);
    expect(at).toBeGreaterThan(0);
    broken[at] = 0xff;
    expect(wasmSimdSupported(broken)).toBe(false);
    expect(createWasmKernels({ bytes: broken })).toBeNull();
  });
});

describe('wasm element-wise relu', () => {
  /** Values with every edge case: NaN, ±0, ±Infinity, subnormals, and random signs. */
  function edgy(n: number, dtype: DType, seed: number): Matrix {
    const next = rng(seed);
    const special = [
      Number.NaN,
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      5e-324,
      -5e-324,
      1e-40,
    ];
    const m = zeros(1, n, dtype);
    for (let i = 0; i < n; i++) m.data[i] = next() < 0.1 ? special[i % special.length]! : next() * 2 - 1;
    return m;
  }

  it("forward and backward give the JavaScript loops' values (NaN, ±0, ±Infinity, chunk edges)", () => {
    const wk = need(wasmOnly);
    for (const dtype of ['float64', 'float32'] as const) {
      for (const n of [1, 2, 3, 5, 8, 16383, 16384, 16385, 40001]) {
        const Z = edgy(n, dtype, n);
        const dA = edgy(n, dtype, n + 1);
        const [A1, A2, dZ1, dZ2] = [
          zeros(1, n, dtype),
          zeros(1, n, dtype),
          zeros(1, n, dtype),
          zeros(1, n, dtype),
        ];
        A1.data.fill(7);
        dZ1.data.fill(7);
        withKernels(wk, () => {
          reluForward(Z, A1);
          reluBackward(dA, Z, A1, dZ1);
        });
        withKernels(referenceKernels, () => {
          reluForward(Z, A2);
          reluBackward(dA, Z, A2, dZ2);
        });
        // Object.is: the same value, ±0 told apart, every NaN alike (NaN bit patterns are not a
        // JavaScript-visible value: x86's max gives a negative NaN, Math.max a positive one)
        const differs = (x: Matrix, y: Matrix) => x.data.findIndex((v, i) => !Object.is(v, y.data[i]));
        expect(differs(A1, A2), `relu ${dtype} n=${n}`).toBe(-1);
        expect(differs(dZ1, dZ2), `relu' ${dtype} n=${n}`).toBe(-1);
      }
    }
  });

  it('declines small and mixed-dtype arrays (the caller loops)', () => {
    const wd = need(wasmKernels);
    const small = zeros(1, 100);
    expect(wd.reluForward?.(small, zeros(1, 100))).toBe(false);
    expect(wd.reluForward?.(zeros(1, 10000), zeros(1, 10000, 'float32'))).toBe(false);
    expect(wd.reluForward?.(zeros(1, 10000), zeros(1, 10000))).toBe(true);
  });
});

describe('wasm element-wise tanh, sigmoid and cost', () => {
  /** Arguments over every range the kernel treats apart, with the special values mixed in. */
  function args(n: number, dtype: DType, seed: number): Matrix {
    const next = rng(seed);
    const special = [Number.NaN, 0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324, -1e-300];
    const edges = [0.625, -0.625, 0.6249999999999999, 44, 44.5, 88, 1e300, 19.1, 1e-9];
    const m = zeros(1, n, dtype);
    for (let i = 0; i < n; i++) {
      const u = next();
      m.data[i] =
        u < 0.05
          ? special[i % special.length]!
          : u < 0.1
            ? edges[i % edges.length]!
            : (next() * 2 - 1) * 10 ** (next() * 4 - 2); // |x| from 0.01 to 100
    }
    return m;
  }
  const ulp = (x: number) => {
    const a = Math.abs(x);
    const e = Math.max(Math.floor(Math.log2(a)), -1022);
    return 2 ** (e - 52);
  };
  /** Index of the first element of got off want by more than `ulps` ulps (NaN must stay NaN, ±0 and ±1 exact). */
  const offBy = (got: Matrix, want: Matrix, ulps: number, f32: boolean) =>
    got.data.findIndex((g, i) => {
      const w = want.data[i]!;
      if (Number.isNaN(w) || w === 0 || Math.abs(w) === 1 || !Number.isFinite(w)) return !Object.is(g, w);
      const unit = f32 ? 2 ** (Math.floor(Math.log2(Math.abs(w))) - 23) : ulp(w);
      return !(Math.abs(g - w) <= ulps * unit);
    });

  it('forward: within 3 ulp of Math.tanh in float64, 1 float32 ulp in float32 (chunk and vector edges)', () => {
    const wk = need(wasmOnly);
    for (const dtype of ['float64', 'float32'] as const) {
      for (const n of [1, 2, 3, 5, 7, 9, 10, 13, 16383, 16384, 16385, 40001]) {
        const Z = args(n, dtype, n);
        const [A1, A2] = [zeros(1, n, dtype), zeros(1, n, dtype)];
        A1.data.fill(7);
        withKernels(wk, () => tanhForward(Z, A1));
        withKernels(referenceKernels, () => tanhForward(Z, A2));
        expect(offBy(A1, A2, dtype === 'float64' ? 3 : 1, dtype === 'float32'), `tanh ${dtype} n=${n}`).toBe(
          -1,
        );
      }
    }
  });

  it('forward: 1 M random arguments within 3 ulp, and not simply the same bits as Math.tanh', () => {
    const wk = need(wasmOnly);
    const n = 1 << 20;
    const Z = args(n, 'float64', 99);
    const [A1, A2] = [zeros(1, n), zeros(1, n)];
    withKernels(wk, () => tanhForward(Z, A1));
    withKernels(referenceKernels, () => tanhForward(Z, A2));
    expect(offBy(A1, A2, 3, false)).toBe(-1);
    // the kernel really ran (a JavaScript fallback would give Math.tanh's bits everywhere)
    expect(A1.data.some((v, i) => v !== A2.data[i] && !Number.isNaN(v))).toBe(true);
  });

  it("backward: dA ⊙ (1 − A²) with the loop's bits (NaN, ±0, ±Infinity, chunk edges)", () => {
    const wk = need(wasmOnly);
    for (const dtype of ['float64', 'float32'] as const) {
      for (const n of [1, 3, 9, 10, 16383, 16384, 16385, 40001]) {
        const A = args(n, dtype, n + 7);
        const dA = args(n, dtype, n + 8);
        const [dZ1, dZ2] = [zeros(1, n, dtype), zeros(1, n, dtype)];
        dZ1.data.fill(7);
        withKernels(wk, () => tanhBackward(dA, A, A, dZ1));
        withKernels(referenceKernels, () => tanhBackward(dA, A, A, dZ2));
        expect(
          dZ1.data.findIndex((v, i) => !Object.is(v, dZ2.data[i])),
          `tanh' ${dtype} n=${n}`,
        ).toBe(-1);
      }
    }
  });

  it('sigmoid: within 3 ulp of the loop (float64), 1 float32 ulp (float32); 0 and 1 exact at the ends', () => {
    const wk = need(wasmOnly);
    for (const dtype of ['float64', 'float32'] as const) {
      for (const n of [1, 2, 9, 10, 13, 16383, 16384, 16385, 40001]) {
        const Z = args(n, dtype, n + 3);
        // beyond ±708 the loop gives subnormals the kernel flushes to 0: compared apart below
        Z.data.forEach((v, i) => {
          if (Math.abs(v) > 700 && Number.isFinite(v)) Z.data[i] = Math.sign(v) * 700;
        });
        const [A1, A2] = [zeros(1, n, dtype), zeros(1, n, dtype)];
        withKernels(wk, () => sigmoidForward(Z, A1));
        withKernels(referenceKernels, () => sigmoidForward(Z, A2));
        expect(offBy(A1, A2, dtype === 'float64' ? 3 : 1, dtype === 'float32'), `σ ${dtype} n=${n}`).toBe(-1);
      }
    }
    const far = zeros(1, 12);
    far.data.set([
      -709,
      -720,
      -745,
      -800,
      -1e300,
      Number.NEGATIVE_INFINITY,
      709,
      800,
      Number.POSITIVE_INFINITY,
      0,
      -0,
      Number.NaN,
    ]);
    const got = zeros(1, 12);
    withKernels(wk, () => sigmoidForward(far, got));
    const want = zeros(1, 12);
    withKernels(referenceKernels, () => sigmoidForward(far, want));
    got.data.forEach((g, i) => {
      const w = want.data[i]!;
      if (Number.isNaN(w)) expect(g).toBeNaN();
      else expect(Math.abs(g - w), `σ(${far.data[i]})`).toBeLessThan(3.3e-308);
    });
  });

  it('binary cross-entropy: within n·2⁻⁵² of the loop sum (awkward n, special values, both dtypes)', () => {
    const wk = need(wasmOnly);
    for (const dtype of ['float64', 'float32'] as const) {
      for (const n of [9, 10, 11, 13, 16383, 16384, 16385, 40001]) {
        const Z = zeros(1, n, dtype);
        const Y = zeros(1, n, dtype);
        const next = rng(n);
        for (let i = 0; i < n; i++) {
          Z.data[i] = (next() * 2 - 1) * 10 ** (next() * 5 - 2); // |z| up to 1000 (past 708)
          Y.data[i] = next() < 0.5 ? 0 : 1;
        }
        const got = withKernels(wk, () => binaryCrossEntropy(Z, Z, Y));
        const want = withKernels(referenceKernels, () => binaryCrossEntropy(Z, Z, Y));
        // positive terms summed in another order: within n·2⁻⁵² of the loop's sum, relative
        expect(Math.abs(got - want) / want, `J ${dtype} n=${n}`).toBeLessThan(n * 2 ** -52);
        expect(wk.binaryCrossEntropySum?.(Z, Y)).toBeTypeOf('number'); // the kernel takes it
      }
    }
    // NaN and Infinity reach the sum as in the loop (the training loop turns them into a DivergenceError)
    for (const [z, y] of [
      [Number.NaN, 0],
      [Number.POSITIVE_INFINITY, 1],
      [Number.POSITIVE_INFINITY, 0],
      [Number.NEGATIVE_INFINITY, 0],
      [-1e300, 1],
    ] as const) {
      const Z = zeros(1, 10);
      const Y = zeros(1, 10);
      Z.data[3] = z;
      Y.data[3] = y;
      const got = withKernels(wk, () => binaryCrossEntropy(Z, Z, Y));
      const want = withKernels(referenceKernels, () => binaryCrossEntropy(Z, Z, Y));
      expect(got, `z = ${z}, y = ${y}`).toBe(want);
    }
  });

  it('declines tiny and mixed-dtype arrays, and works without its module (the products still run)', () => {
    const wd = need(wasmKernels);
    expect(wd.tanhForward?.(zeros(1, 8), zeros(1, 8))).toBe(false);
    expect(wd.tanhForward?.(zeros(1, 100), zeros(1, 100, 'float32'))).toBe(false);
    expect(wd.tanhForward?.(zeros(1, 100), zeros(1, 100))).toBe(true);
    const noMath = need(createWasmKernels({ mathBytes: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 1]) }));
    expect(noMath.tanhForward?.(zeros(1, 100), zeros(1, 100))).toBe(false);
    const out = zeros(64, 64);
    const a = random(64, 64, 'float64', rng(5));
    noMath.matmul(a, a, out);
    const want = zeros(64, 64);
    referenceKernels.matmul(a, a, want);
    expect(bits(out.data)).toEqual(bits(want.data));
  });
});

describe('the committed binary is built from its source', () => {
  it('stays under 4 KiB, the most a browser main thread compiles synchronously', () => {
    expect(kernelsWasmBytes().length).toBeLessThan(4096);
  });

  it('scripts/gemm-wat.ts assembles to exactly src/kernels-wasm.wasm and src/kernels-wasm-binary.ts', async () => {
    const built = await assemble();
    expect(Buffer.from(built).equals(readFileSync(WASM_PATH))).toBe(true);
    expect(readFileSync(MODULE_PATH, 'utf8')).toBe(binaryModule(built));
    expect(Buffer.from(kernelsWasmBytes()).equals(Buffer.from(built))).toBe(true);
  });

  it('scripts/math-wat.ts assembles to exactly src/kernels-wasm-math.wasm and its TypeScript module', async () => {
    const built = await assemble(MODULES.math);
    expect(kernelsWasmMathBytes().length).toBeLessThan(4096);
    expect(Buffer.from(built).equals(readFileSync(MODULES.math.wasmPath))).toBe(true);
    expect(readFileSync(MODULES.math.modulePath, 'utf8')).toBe(binaryModule(built, MODULES.math));
    expect(Buffer.from(kernelsWasmMathBytes()).equals(Buffer.from(built))).toBe(true);
  });
});

describe('golden fixtures with every product in WebAssembly', () => {
  const cases = loadGoldenCases();
  const run = (c: GoldenCase, k: Kernels) =>
    withKernels(k, () => {
      const net = Network.fromParameters({
        inputSize: c.inputSize,
        layers: c.layers,
        parameters: c.parameters,
      });
      const result = train(net, c.X, c.Y, { ...c.options, iterations: c.iterations, costEvery: 1 });
      return { costs: result.costs, params: net.parameters() };
    });
  // golden.test.ts asks 1e-9 of the default kernels; every kernel here lands within ~1e-13
  // (the Adam case's worst parameter is 1.2e-13 off numpy with the reference loops as well).
  // tanh, sigmoid and the cost in WebAssembly are functions of their own (within 3 ulp of Math's,
  // tested above), so the reference run borrows them: what must match bit for bit is everything
  // else, the products first.
  it.each(cases)('$name: the reference kernels bit for bit, numpy to 1e-12', (c) => {
    const wasm = run(c, need(wasmOnly));
    const { tanhForward, tanhBackward, sigmoidForward, binaryCrossEntropySum } = need(wasmOnly);
    const ref = run(c, {
      ...referenceKernels,
      tanhForward,
      tanhBackward,
      sigmoidForward,
      binaryCrossEntropySum,
    });
    expect(wasm.costs).toEqual(ref.costs);
    expect(wasm.params).toEqual(ref.params);
    expectClose(wasm.costs, c.costs, 1e-12, 'costs');
    for (const key of Object.keys(c.finalParameters))
      expectClose(wasm.params[key], c.finalParameters[key], 1e-12, key);
  });
});

describe('float32 training with every product in WebAssembly (sums rounded to float32)', () => {
  it('trains the planar data like float64, within the tolerances float32.test.ts states', () => {
    const planar = loadPlanar();
    const a = planarNetwork({ init: 'random', seed: 2 });
    const b = planarNetwork({ init: 'random', seed: 2, dtype: 'float32' });
    const options = { learningRate: 1.2, iterations: 2000, costEvery: 100 };
    const ra = train(a, planar.X, planar.Y, options);
    withKernels(need(wasmOnly), () => {
      const rb = train(b, planar.X, planar.Y, options);
      ra.costs.forEach((c, i) => {
        expect(Math.abs(rb.costs[i]! - c), `cost ${i}`).toBeLessThan(2e-3);
      });
      expect(Math.abs(b.accuracy(planar.X, planar.Y) - a.accuracy(planar.X, planar.Y))).toBeLessThanOrEqual(
        0.01,
      );
    });
  });
});
