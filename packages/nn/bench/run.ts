/**
 * `npm run bench`: the speed of full training iterations on the fixed workloads (DESIGN.md,
 * "Benchmark workloads"), beside numpy doing the same math with one BLAS thread, in one run.
 *
 *   W1 cat-Llayer 12288 → 20 → 7 → 5 → 1, m = 209     W2 cat-2layer 12288 → 7 → 1, m = 209
 *   W3 planar     2 → 4 (tanh) → 1,      m = 400      W4 wide 784 → 256 → 128 → 10, m = 10000
 *
 * relu hidden layers (tanh in W3), sigmoid output, binary cross-entropy, full-batch gradient
 * descent. Data are seeded random numbers of the workloads' shapes (speed does not depend on the
 * values). For each workload and dtype it measures, through the public API:
 *
 *   step   one `net.step(X, Y, { learningRate })` call: input checks, buffers, forward, cost,
 *          backward, update (what a caller looping over `step` pays per iteration)
 *   train  the marginal cost of one iteration inside `train()`: (t(train N) − t(train 0)) / N,
 *          so the one-off input checks, buffer allocation and final cost pass are not counted
 *
 * Each figure is the median of several repeats after a warm-up. GFLOP/s counts 2 × the
 * multiply-adds of the matrix products: forward W·A per layer, backward dW per layer and dA for
 * layers 2..L. numpy (bench/numpy_ref.py) runs in a child process with OPENBLAS_NUM_THREADS =
 * OMP_NUM_THREADS = MKL_NUM_THREADS = 1; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from
 * that child's environment (this machine sets them for old OpenBLAS builds; they pin a current
 * OpenBLAS to slower kernels) unless --keep-openblas-env.
 *
 * Options: --workloads W1,W3   --repeats 5   --target-ms 400 (time per repeat)   --no-numpy
 *          --keep-openblas-env   --markdown (also print a Markdown table)
 *          --kernels wasm,blocked (the kernel configurations to time side by side, each in its own
 *          child processes: wasm = WebAssembly SIMD, the default where it loads; blocked = the
 *          TypeScript fallback; reference = the plain loops)
 *          --smoke (check results, not speed: see below)
 *          --clock wall|cpu (cpu: each process's CPU time, for an oversubscribed machine)
 *          --threads 1,2 (the thread counts of the train() loop rows: 2 adds `train() 2 threads`,
 *          the calling thread and a helper sharing the samples through SharedArrayBuffer; wall time
 *          only, as a CPU clock would add the helpers' time to nothing)
 *          --no-roofline (leave out the per-product roofline, bench/products.ts, printed last)
 *          --no-tfjs (leave out the TensorFlow.js WebAssembly column, bench/tfjs.ts; it is also
 *          left out, with a notice, when its packages are missing)   --peak-f64 27.5 --peak-f32 55
 * From the repository root npm takes --options for itself; use BENCH_WORKLOADS, BENCH_REPEATS,
 * BENCH_TARGET_MS, BENCH_CLOCK=cpu, BENCH_THREADS=1, BENCH_TFJS=0 and BENCH_SMOKE=1 there, or run `npx tsx packages/nn/bench/run.ts --workloads W3`.
 *
 * --smoke (`npm run bench:smoke -w @backprop/nn`; test/bench-smoke.test.ts runs it in CI): every
 * workload and every kernel configuration (wasm, blocked, reference) in both dtypes once, with tiny
 * repeat counts, on SMOKE_SAMPLES samples where the full bench takes more. It asserts nothing
 * about times; it checks the RESULTS and exits non-zero when one is off: the costs J_0..J_N of
 * SMOKE_ITERATIONS training iterations from the same data and initial weights, against the
 * reference kernels in float64 (see TOLERANCES), against numpy's for the same data and weights
 * (relative 1e-9; skipped with a printed note when python3 or numpy is missing), and every
 * printed figure must be finite and positive.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { useNodeThreads } from '../node/threads.ts';
import {
  type DType,
  type LayerSpec,
  type Matrix,
  Network,
  Rng,
  setKernels,
  train,
  zeros,
} from '../src/index.ts';
import { blockedKernels, type Kernels, referenceKernels, wasmKernels } from '../src/kernels.ts';
import { createWasmKernels } from '../src/kernels-wasm.ts';
import { loadTfjs, tfjsTrainer } from './tfjs.ts';

/** The kernel configurations `--kernels` can name. */
const KERNELS: Record<string, () => Kernels | null> = {
  wasm: () => wasmKernels,
  // the wasm kernels without their element-wise math module (tanh, sigmoid and the cost on the
  // JavaScript loops, as before 2026-12-01 16:00): `--kernels wasm,wasm-products` times the gain
  'wasm-products': () => createWasmKernels({ mathBytes: new Uint8Array(0) }),
  blocked: () => blockedKernels,
  reference: () => referenceKernels,
};

interface Workload {
  readonly name: string;
  readonly title: string;
  readonly inputSize: number;
  readonly layers: readonly LayerSpec[];
  readonly m: number;
  readonly learningRate: number;
}

/** The course's cat images: 64×64×3 pixels, 209 training images, at the course's learning rate. */
const CAT = { inputSize: 12288, m: 209, learningRate: 0.0075 } as const;

/** Every workload's layers: hidden layers of one activation, then a sigmoid output layer. */
function layers(hidden: readonly number[], activation: 'relu' | 'tanh', outputs: number): LayerSpec[] {
  return [...hidden.map((units) => ({ units, activation })), { units: outputs, activation: 'sigmoid' }];
}

const WORKLOADS: readonly Workload[] = [
  { name: 'W1', title: 'cat-Llayer', ...CAT, layers: layers([20, 7, 5], 'relu', 1) },
  { name: 'W2', title: 'cat-2layer', ...CAT, layers: layers([7], 'relu', 1) },
  { name: 'W3', title: 'planar', inputSize: 2, layers: layers([4], 'tanh', 1), m: 400, learningRate: 1.2 },
  {
    name: 'W4',
    title: 'wide',
    inputSize: 784,
    layers: layers([256, 128], 'relu', 10),
    m: 10000,
    learningRate: 0.1,
  },
];

/** Training iterations whose costs --smoke compares (J_0 before the first update, J_N after the last). */
const SMOKE_ITERATIONS = 2;
/**
 * Samples per workload in --smoke, where the full bench takes more: the reference kernels need
 * ~1.3 s per W1 iteration at m = 209 and ~10 s per W4 iteration at m = 10000, and they run every
 * iteration the other configurations run, so they were most of CI's smoke time.
 */
const SMOKE_SAMPLES: Readonly<Record<string, number>> = { W1: 64, W2: 64, W4: 200 };

/**
 * This machine's WebAssembly SIMD multiply-add peak on one thread, GFLOP/s (12 independent
 * mul+add chains on v128 registers, best of 5: the engine notes of 2026-12-01; --peak-f64 and
 * --peak-f32 for another machine). "% peak" is a row's GFLOP/s against the peak of its dtype:
 * the roofline of the whole iteration (bench/products.ts gives it per product).
 */
const PEAK = { float64: 27.5, float32: 55 } as const;

/**
 * How far --smoke lets each configuration's costs J_0..J_N be from the reference kernels' float64
 * costs, relative (measured on a 2-vCPU EPYC, 2026-12-01, in brackets). wasm float64 sums every
 * product element in the reference's order (scripts/gemm-wat.ts): bit-identical, so 0. The
 * blocked kernels are held to 1e-12 of the natural error scale per element (test/kernels.test.ts)
 * and so are their costs here (≤ 5.3e-16). float32 rounds the data, the weights and every step to
 * 24 bits: 1e-5 (≤ 5.9e-8; test/float32.test.ts allows 2e-3 absolute over a whole planar run).
 * numpy float64 sums in BLAS's own orders: 1e-9, as the golden fixtures (≤ 2.4e-15).
 */
const TOLERANCES: { float64: Record<string, number>; float32: Record<string, number>; numpy: number } = {
  float64: { wasm: 0, 'wasm-products': 0, blocked: 1e-12, reference: 0 },
  float32: { wasm: 1e-5, 'wasm-products': 1e-5, blocked: 1e-5, reference: 1e-5 },
  numpy: 1e-9,
};
/**
 * TensorFlow.js (float32, its own summation orders and transcendental functions) against the
 * reference kernels' float64 costs.
 */
const TFJS_TOLERANCE = 1e-4;
/**
 * wasm float64: tanh, the sigmoid output and the cost run in WebAssembly too, functions of their
 * own within 3 ulp of Math's (scripts/math-wat.ts), so the costs are no longer the reference's
 * bits; the products still are (`wasm-products` keeps the bit-for-bit check: 0).
 */
const WASM_MATH_TOLERANCE = 1e-13;

function tolerance(dtype: DType, kernelName: string): number | undefined {
  if (dtype === 'float64' && kernelName === 'wasm') return WASM_MATH_TOLERANCE;
  return TOLERANCES[dtype][kernelName];
}

/** The workload as --smoke runs it (on SMOKE_SAMPLES samples), or unchanged. */
function sized(w: Workload, smoke: boolean): Workload {
  const m = SMOKE_SAMPLES[w.name];
  return smoke && m !== undefined ? { ...w, m } : w;
}

/** FLOPs of one iteration: 2 × multiply-adds of forward W·A, backward dW, and dA for layers ≥ 2. */
function flopsPerIteration(w: Workload): number {
  let macs = 0;
  let nPrev = w.inputSize;
  w.layers.forEach((layer, i) => {
    const layerMacs = layer.units * nPrev * w.m;
    macs += layerMacs * (i === 0 ? 2 : 3);
    nPrev = layer.units;
  });
  return 2 * macs;
}

function data(w: Workload, dtype: DType): { X: Matrix; Y: Matrix } {
  // nn's own seeded generator: the same data every run
  const random = new Rng(1);
  const next = () => random.uniform();
  const X = zeros(w.inputSize, w.m, dtype);
  for (let i = 0; i < X.data.length; i++) X.data[i] = next();
  const nL = w.layers[w.layers.length - 1]!.units;
  const Y = zeros(nL, w.m, dtype);
  for (let j = 0; j < w.m; j++) {
    if (nL === 1) Y.data[j] = next() < 0.5 ? 0 : 1;
    else Y.data[Math.floor(next() * nL) * w.m + j] = 1; // one-hot class per column
  }
  return { X, Y };
}

/**
 * The workload's network as every implementation starts it (He, seed 1), so nn, numpy and tfjs
 * begin from the same weights.
 */
function initialNetwork(w: Workload, dtype: DType): Network {
  return Network.create({ inputSize: w.inputSize, layers: w.layers, init: 'he', seed: 1, dtype });
}

interface Timing {
  readonly ms: number;
  readonly n: number;
  readonly repeats: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The clock every figure is taken with (--clock, BENCH_CLOCK): 'wall' (performance.now(), the
 * default) or 'cpu' (this process's CPU time, process.cpuUsage(); numpy_ref.py then uses
 * time.process_time()). On a machine whose cores are oversubscribed by other work, wall time
 * counts the time the process waited for a core; CPU time does not (it still pays for shared
 * caches and SMT siblings). Every implementation runs single-threaded, so the two agree on an
 * idle machine.
 */
let clock: 'wall' | 'cpu' = 'wall';
const now = () => {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Per-iteration milliseconds of `run(n)` (n iterations), minus `run(0)` when `marginal`. Warm up
 * and calibrate by doubling n until one call takes a quarter of targetMs (at least `minCalls`
 * calls: a second one at the final size warms the JIT up for the slow workloads), size n so that a
 * repeat takes about targetMs, then take the median over the repeats.
 */
function measure(
  run: (n: number) => void,
  targetMs: number,
  repeats: number,
  marginal: boolean,
  minCalls = 2,
): Timing {
  const time = (n: number) => {
    const t = now();
    run(n);
    return now() - t;
  };
  const base = () => (marginal ? time(0) : 0);
  // Calibrated on the time beyond run(0): with threads, that call starts the helper threads
  // (hundreds of ms), and n must be large enough for the iterations to count.
  const calibrationBase = base();
  const net = (k: number) => time(k) - calibrationBase;
  let n = 1;
  let dt = net(n);
  let calls = 1;
  while ((dt < targetMs / 4 || calls < minCalls) && n < 1 << 24) {
    if (dt >= targetMs / 4) {
      dt = net(n); // a second call at this size: JIT warm-up for the slow workloads
    } else {
      n *= 2;
      dt = net(n);
    }
    calls++;
  }
  dt += calibrationBase;
  const perIteration = Math.max(dt - base(), dt / 2) / n;
  const reps = Math.max(1, Math.round(targetMs / perIteration));
  const times: number[] = [];
  // The calibration's guard again: on a loaded machine one slow run(0) can exceed a short run(n)
  // (--smoke times a single iteration), and a figure ≤ 0 would mean nothing.
  for (let r = 0; r < repeats; r++) {
    const t = time(reps);
    times.push(Math.max(t - base(), t / 2) / reps);
  }
  return { ms: median(times), n: reps, repeats: times };
}

interface NumpyResult {
  ok: boolean;
  error?: string;
  msPerIteration?: number;
  /** --data: the costs J_0..J_N of --iterations iterations. */
  costs?: number[];
  numpy?: string;
  python?: string;
  blas?: { name?: string; version?: string; coretype?: string; threads?: number; source?: string };
}

function runNumpy(args: string[], keepEnv: boolean): NumpyResult {
  const script = fileURLToPath(new URL('./numpy_ref.py', import.meta.url));
  if (clock === 'cpu') args = [...args, '--cpu-clock'];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: '1',
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
  if (!keepEnv) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  const r = spawnSync('python3', [script, ...args], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.error) return { ok: false, error: `python3 could not run (${r.error.message})` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as NumpyResult;
  } catch {
    return { ok: false, error: `numpy_ref.py exited with ${r.status}: ${r.stderr.trim().slice(-300)}` };
  }
}

/** The largest |got − want| / |want| over the entries; Infinity when the lengths differ, NaN for NaN. */
function relativeGap(got: readonly number[], want: readonly number[]): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let gap = 0;
  for (let i = 0; i < want.length; i++) {
    const g = Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!);
    if (!(g <= gap)) gap = g; // NaN sticks
  }
  return gap;
}

/**
 * --smoke: the workload's float64 data and seed-1 initial weights as raw float64 (native byte order)
 * files in a temporary directory, with their shapes in meta.json, for numpy_ref.py --data: numpy
 * then starts from exactly the numbers nn starts from.
 */
function writeSmokeData(w: Workload): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'nn-bench-smoke-'));
  const { X, Y } = data(w, 'float64');
  const net = initialNetwork(w, 'float64');
  const arrays: Record<string, Matrix> = { X, Y };
  w.layers.forEach((_, i) => {
    arrays[`W${i + 1}`] = net.weights.W[i + 1]!;
    arrays[`b${i + 1}`] = net.weights.b[i + 1]!;
  });
  const shapes: Record<string, [number, number]> = {};
  for (const [name, a] of Object.entries(arrays)) {
    shapes[name] = [a.rows, a.cols];
    const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    writeFileSync(join(dir, `${name}.f64`), bytes);
  }
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ layers: w.layers.length, shapes }));
  return dir;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

const fmtMs = (ms: number) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(4);
/** J_N to 17 digits and J_0 − J_N (how far the iterations moved the cost: what the check can see). */
const fmtCost = (costs: readonly number[]) =>
  `${(costs.at(-1) ?? Number.NaN).toPrecision(17).padStart(22)}${((costs[0] ?? Number.NaN) - (costs.at(-1) ?? Number.NaN)).toExponential(2).padStart(12)}`;
const fmtGf = (g: number) => (g >= 10 ? g.toFixed(1) : g.toFixed(2));
const fmtPeak = (f: number | null) => (f === null ? '–' : `${(100 * f).toFixed(f >= 0.1 ? 0 : 1)} %`);

interface Row {
  workload: string;
  impl: string;
  ms: number;
  gflops: number;
  ratio: number | null;
  /** GFLOP/s as a fraction of the WebAssembly SIMD peak of the row's dtype; null for numpy. */
  ofPeak: number | null;
}

/** Our timings for one workload and dtype, in this process (see runOurs). */
function measureOurs(
  w: Workload,
  dtype: DType,
  targetMs: number,
  repeats: number,
  minCalls: number,
  threads: number,
): OursResult {
  const { X, Y } = data(w, dtype);
  const net = initialNetwork(w, dtype);
  const lr = { learningRate: w.learningRate };
  // With threads, each train() call starts its helpers at its first product: a call of n + 1
  // iterations against one of 1 leaves the n iterations alone.
  const extra = threads > 1 ? 1 : 0;
  const loop = measure(
    (n) => {
      const iterations = n + extra;
      train(net, X, Y, { ...lr, iterations, costEvery: Math.max(iterations, 1), threads });
    },
    // with threads, a longer run per repeat: the helpers' start, subtracted, varies by ~0.1 s
    threads > 1 ? 4 * targetMs : targetMs,
    repeats,
    true,
    minCalls,
  );
  if (threads > 1) return { train: loop };
  const step = measure(
    (n) => {
      for (let i = 0; i < n; i++) net.step(X, Y, lr);
    },
    targetMs,
    repeats,
    false,
    minCalls,
  );
  return { step, train: loop };
}

/** The costs J_0..J_N of SMOKE_ITERATIONS full-batch iterations from the bench's data and seed-1 weights. */
function smokeCosts(w: Workload, dtype: DType): number[] {
  const { X, Y } = data(w, dtype);
  const net = initialNetwork(w, dtype);
  return train(net, X, Y, { learningRate: w.learningRate, iterations: SMOKE_ITERATIONS, costEvery: 1 }).costs;
}

interface OursResult {
  /** one thread only: step() has no threads option */
  step?: Timing;
  train: Timing;
  /** --smoke only: see smokeCosts. */
  costs?: number[];
}

interface TfjsResult {
  iteration: Timing;
  version: string;
  threads: number;
  /** --smoke only: J_0..J_N of SMOKE_ITERATIONS iterations, as smokeCosts. */
  costs?: number[];
}

/**
 * The TensorFlow.js WebAssembly backend on the workload (bench/tfjs.ts), float32, from the data
 * and seed-1 weights nn's float32 rows start from; in the child process of `--child W1:tfjs`.
 */
async function measureTfjs(
  w: Workload,
  targetMs: number,
  repeats: number,
  minCalls: number,
  smoke: boolean,
): Promise<TfjsResult | { error: string }> {
  const rt = await loadTfjs();
  if ('error' in rt) return rt;
  const { X, Y } = data(w, 'float32');
  const net = initialNetwork(w, 'float32');
  const spec = { activations: w.layers.map((l) => l.activation), learningRate: w.learningRate };
  let costs: number[] | undefined;
  if (smoke) {
    const fresh = tfjsTrainer(rt, spec, X, Y, net.weights.W, net.weights.b);
    costs = Array.from({ length: SMOKE_ITERATIONS + 1 }, () => fresh.iteration());
    fresh.dispose();
  }
  const trainer = tfjsTrainer(rt, spec, X, Y, net.weights.W, net.weights.b);
  const iteration = measure(
    (n) => {
      for (let i = 0; i < n; i++) trainer.iteration();
    },
    targetMs,
    repeats,
    false,
    minCalls,
  );
  trainer.dispose();
  return { iteration, version: rt.version, threads: rt.threads, ...(costs === undefined ? {} : { costs }) };
}

/**
 * This script again with `--child <child>` and the timing options; the child prints its result as
 * JSON on its last line of output.
 */
function runChild<T>(
  child: string,
  targetMs: number,
  repeats: number,
  smoke: boolean,
  options: readonly string[],
): T | { error: string } {
  const script = fileURLToPath(import.meta.url);
  const args = [
    ...process.execArgv,
    script,
    '--child',
    child,
    '--target-ms',
    String(targetMs),
    '--repeats',
    String(repeats),
    ...options,
    '--clock',
    clock,
    ...(smoke ? ['--smoke'] : []),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 600_000 });
  if (r.error) return { error: r.error.message };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: `exit ${r.status}: ${r.stderr.trim().slice(-500)}` };
  }
}

function runTfjs(
  workload: string,
  targetMs: number,
  repeats: number,
  smoke: boolean,
): TfjsResult | { error: string } {
  return runChild(`${workload}:tfjs`, targetMs, repeats, smoke, []);
}

/**
 * Each workload and dtype runs in a fresh Node process (this script with --child), as a training
 * worker would: the JIT then sees one dtype, and no workload inherits another's heap or code.
 */
function runOurs(
  workload: string,
  dtype: DType,
  targetMs: number,
  repeats: number,
  kernelsName: string,
  smoke: boolean,
  threads: number,
): OursResult | { error: string } {
  return runChild(`${workload}:${dtype}`, targetMs, repeats, smoke, [
    '--kernels',
    kernelsName,
    '--threads',
    String(threads),
  ]);
}

async function main(): Promise<void> {
  // npm swallows --options given to the root `npm run bench`, so the environment works too.
  const env = process.env;
  const { values } = parseArgs({
    options: {
      workloads: { type: 'string', default: env.BENCH_WORKLOADS ?? WORKLOADS.map((w) => w.name).join(',') },
      repeats: { type: 'string', default: env.BENCH_REPEATS ?? '5' },
      'target-ms': { type: 'string', default: env.BENCH_TARGET_MS ?? '400' },
      'no-numpy': { type: 'boolean', default: false },
      'keep-openblas-env': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      child: { type: 'string' },
      kernels: { type: 'string' },
      smoke: { type: 'boolean', default: env.BENCH_SMOKE === '1' },
      'no-tfjs': { type: 'boolean', default: env.BENCH_TFJS === '0' },
      'no-roofline': { type: 'boolean', default: env.BENCH_ROOFLINE === '0' },
      clock: { type: 'string', default: env.BENCH_CLOCK ?? 'wall' },
      threads: { type: 'string', default: env.BENCH_THREADS ?? '1,2' },
      'peak-f64': { type: 'string', default: String(PEAK.float64) },
      'peak-f32': { type: 'string', default: String(PEAK.float32) },
    },
  });
  if (values.clock !== 'wall' && values.clock !== 'cpu')
    throw new Error(`--clock takes wall or cpu; got ${values.clock}`);
  clock = values.clock;
  const peak = { float64: Number(values['peak-f64']), float32: Number(values['peak-f32']) };
  const smoke = values.smoke;
  // --smoke checks the results of one thread (the threads' own exactness is tested in test/).
  const threadCounts = smoke ? [1] : values.threads.split(',').map((t) => Number(t.trim()));
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1))
    throw new Error(`--threads takes thread counts, e.g. 1,2; got ${values.threads}`);
  const names = values.workloads.split(',').map((s) => s.trim().toUpperCase());
  const selected = WORKLOADS.filter((w) => names.includes(w.name)).map((w) => sized(w, smoke));
  // --smoke: tiny repeat counts (the figures only have to exist) and every kernel configuration.
  const repeats = smoke ? 1 : Number(values.repeats);
  const targetMs = smoke ? 20 : Number(values['target-ms']);
  const keepEnv = values['keep-openblas-env'];
  const kernelsOption =
    values.kernels ?? (smoke ? Object.keys(KERNELS).join(',') : (env.BENCH_KERNELS ?? 'wasm,blocked'));
  const kernelNames = kernelsOption.split(',').map((s) => s.trim());
  // --smoke checks every configuration against the reference kernels' float64 costs: those first.
  if (smoke) kernelNames.sort((a, b) => Number(b === 'reference') - Number(a === 'reference'));
  if (smoke && !kernelNames.includes('reference')) kernelNames.unshift('reference');
  for (const k of kernelNames) {
    if (!(k in KERNELS)) throw new Error(`--kernels takes ${Object.keys(KERNELS).join(', ')}; got ${k}`);
  }
  if (values.child !== undefined) {
    const [name, dtype] = values.child.split(':');
    const named = WORKLOADS.find((x) => x.name === name);
    if (named !== undefined && dtype === 'tfjs') {
      console.log(
        JSON.stringify(await measureTfjs(sized(named, smoke), targetMs, repeats, smoke ? 1 : 2, smoke)),
      );
      return;
    }
    if (named === undefined || (dtype !== 'float64' && dtype !== 'float32'))
      throw new Error(`bad --child ${values.child}`);
    const w = sized(named, smoke);
    const k = KERNELS[kernelsOption]?.();
    if (k === undefined || k === null) throw new Error(`kernels ${kernelsOption} are not available here`);
    setKernels(k);
    const threads = threadCounts[0] ?? 1;
    if (threads > 1) useNodeThreads();
    // --smoke: no JIT warm-up call, the figures only have to exist
    const result: OursResult = measureOurs(w, dtype, targetMs, repeats, smoke ? 1 : 2, threads);
    if (smoke) result.costs = smokeCosts(w, dtype);
    console.log(JSON.stringify(result));
    return;
  }
  const began = Date.now();

  let numpyOn = !values['no-numpy'];
  let numpyMissing = values['no-numpy'] ? '--no-numpy' : '';
  let info: NumpyResult | undefined;
  if (numpyOn) {
    info = runNumpy(['--workload', 'W3', '--info'], keepEnv);
    if (!info.ok) {
      console.log(`notice: numpy column skipped: ${info.error}`);
      numpyMissing = info.error ?? 'numpy_ref.py failed';
      numpyOn = false;
    }
  }

  console.log(`@backprop/nn benchmark, ${new Date().toISOString()}`);
  console.log(`CPU: ${cpuModel()}, ${os.cpus().length} cores; Node ${process.version}; ${os.platform()}`);
  if (numpyOn && info) {
    const b = info.blas ?? {};
    console.log(
      `numpy ${info.numpy} (Python ${info.python}), BLAS ${b.name ?? '?'} ${b.version ?? ''}, ` +
        `core type ${b.coretype ?? 'unknown'}, ${b.threads ?? '?'} thread(s)`,
    );
    const orig = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']
      .filter((k) => process.env[k] !== undefined)
      .map((k) => `${k}=${process.env[k]}`);
    if (orig.length > 0) {
      console.log(
        keepEnv
          ? `numpy child keeps ${orig.join(', ')}`
          : `numpy child runs without ${orig.join(', ')} (set in this environment; OpenBLAS picks its core type itself)`,
      );
    }
  }
  console.log(
    `nn kernels: ${kernelNames.join(', ')} (wasm: WebAssembly SIMD, ${wasmKernels === null ? 'NOT available here' : 'the default'}; blocked: TypeScript; reference: plain loops)`,
  );
  if (smoke) {
    console.log(
      `smoke mode: results checked, times not; repeats 1, samples ${WORKLOADS.map((w) => `${w.name} m = ${sized(w, true).m}`).join(', ')} (${WORKLOADS.map((w) => w.m).join(', ')} in the full bench)`,
    );
  }
  console.log(
    `clock: ${clock === 'wall' ? 'wall time' : 'CPU time of each process (--clock cpu)'}; % peak = GFLOP/s against WebAssembly SIMD's ${peak.float64} (f64) / ${peak.float32} (f32) GFLOP/s on one thread`,
  );
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log('');
  const header = `${'workload'.padEnd(16)}${'implementation'.padEnd(34)}${'ms/iter'.padStart(10)}${'GFLOP/s'.padStart(10)}${'% peak'.padStart(8)}${'× numpy'.padStart(10)}`;
  console.log(header);
  console.log('-'.repeat(header.length));

  const rows: Row[] = [];
  /** --smoke: what is wrong (the run fails when this is not empty) and the results it checked. */
  const problems: string[] = [];
  const checked: string[] = [];
  const print = (row: Row) => {
    rows.push(row);
    const figures = { 'ms/iter': row.ms, 'GFLOP/s': row.gflops, '× numpy': row.ratio ?? 1 };
    for (const [what, x] of Object.entries(figures)) {
      if (!(Number.isFinite(x) && x > 0)) problems.push(`${row.workload} ${row.impl}: ${what} is ${x}`);
    }
    console.log(
      `${row.workload.padEnd(16)}${row.impl.padEnd(34)}${fmtMs(row.ms).padStart(10)}${fmtGf(row.gflops).padStart(10)}${fmtPeak(row.ofPeak).padStart(8)}${(row.ratio === null ? '–' : row.ratio.toFixed(2)).padStart(10)}`,
    );
  };

  for (const w of selected) {
    const flops = flopsPerIteration(w);
    const label = `${w.name} ${w.title}`;
    let numpyMs: number | null = null;
    /** --smoke: the reference kernels' float64 costs, which every other configuration is checked against. */
    let want: number[] | undefined;
    const check = (config: string, costs: number[] | undefined, tolerance: number) => {
      if (want === undefined) return;
      const gap = relativeGap(costs ?? [], want);
      const ok = gap <= tolerance; // false for NaN
      checked.push(
        `${label.padEnd(16)}${config.padEnd(24)}${fmtCost(costs ?? [])}${gap.toExponential(1).padStart(10)}${tolerance.toExponential(0).padStart(8)}  ${ok ? 'ok' : 'WRONG'}`,
      );
      if (!ok)
        problems.push(
          `${label} ${config}: costs ${JSON.stringify(costs)} are ${gap} from ${JSON.stringify(want)}, over ${tolerance}`,
        );
    };
    let numpyCosts: number[] | undefined;
    let dataDir: string | undefined;
    if (numpyOn) {
      const args = ['--workload', w.name, '--target-ms', String(targetMs), '--repeats', String(repeats)];
      if (smoke) {
        dataDir = writeSmokeData(w);
        args.push('--data', dataDir, '--iterations', String(SMOKE_ITERATIONS));
      }
      const r = runNumpy(args, keepEnv);
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
      if (smoke) {
        if (r.ok) numpyCosts = r.costs ?? [];
        else problems.push(`${label} numpy: ${r.error}`);
      }
      if (r.ok && r.msPerIteration !== undefined) {
        numpyMs = r.msPerIteration;
        print({
          workload: label,
          impl: 'numpy f64, 1 thread',
          ms: numpyMs,
          gflops: flops / numpyMs / 1e6,
          ratio: 1,
          ofPeak: null,
        });
      } else {
        console.log(`notice: numpy ${w.name} failed: ${r.error}`);
      }
    }
    for (const kernelName of kernelNames)
      for (const dtype of ['float64', 'float32'] as const) {
        const tag = `${dtype === 'float64' ? 'f64' : 'f32'} ${kernelName}`;
        if (smoke && kernelName === 'wasm' && wasmKernels === null) {
          console.log(`notice: nn ${w.name} ${tag} skipped: this runtime has no WebAssembly SIMD`);
          continue;
        }
        const r = runOurs(w.name, dtype, targetMs, repeats, kernelName, smoke, 1);
        if ('error' in r) {
          console.log(`notice: nn ${w.name} ${tag} failed: ${r.error}`);
          if (smoke) problems.push(`${label} ${tag}: ${r.error}`);
          continue;
        }
        if (smoke && dtype === 'float64' && kernelName === 'reference') {
          want = r.costs ?? [];
          const usable =
            want.length === SMOKE_ITERATIONS + 1 && want.every((c) => Number.isFinite(c) && c > 0);
          if (!usable) problems.push(`${label} ${tag}: no usable baseline costs (${JSON.stringify(want)})`);
          checked.push(`${label.padEnd(16)}${tag.padEnd(24)}${fmtCost(want)}${'(baseline)'.padStart(18)}`);
        } else if (smoke) {
          const allowed = tolerance(dtype, kernelName);
          if (allowed === undefined)
            problems.push(`${label} ${tag}: no tolerance for these kernels in TOLERANCES`);
          else check(tag, r.costs, allowed);
        }
        const timings: [string, Timing | undefined][] = [
          [`nn ${tag} step()`, r.step],
          [`nn ${tag} train() loop`, r.train],
        ];
        // More threads for the default kernels only (the fallback's figures would add minutes).
        for (const threads of kernelName === kernelNames[0] ? threadCounts.filter((t) => t > 1) : []) {
          const more = runOurs(w.name, dtype, targetMs, repeats, kernelName, smoke, threads);
          if ('error' in more)
            console.log(`notice: nn ${w.name} ${tag} ${threads} threads failed: ${more.error}`);
          else timings.push([`nn ${tag} train() ${threads} threads`, more.train]);
        }
        for (const [impl, t] of timings) {
          if (t === undefined) continue;
          print({
            workload: label,
            impl,
            ms: t.ms,
            gflops: flops / t.ms / 1e6,
            ratio: numpyMs === null ? null : t.ms / numpyMs,
            ofPeak: flops / t.ms / 1e6 / peak[dtype],
          });
        }
      }
    if (numpyCosts !== undefined) check('numpy f64', numpyCosts, TOLERANCES.numpy);
    // --smoke checks TensorFlow.js on W3 only: each run loads the backend (~2 s of CPU).
    if (!values['no-tfjs'] && (!smoke || w.name === 'W3')) {
      const t = runTfjs(w.name, targetMs, repeats, smoke);
      if ('error' in t) {
        // Optional: a missing or failing TensorFlow.js is a notice, never a smoke problem.
        console.log(`notice: tfjs ${w.name} column skipped: ${t.error}`);
      } else {
        print({
          workload: label,
          impl: `tfjs-wasm ${t.version} f32, ${t.threads} thr`,
          ms: t.iteration.ms,
          gflops: flops / t.iteration.ms / 1e6,
          ratio: numpyMs === null ? null : t.iteration.ms / numpyMs,
          ofPeak: flops / t.iteration.ms / 1e6 / peak.float32,
        });
        if (smoke) check('tfjs-wasm f32', t.costs, TFJS_TOLERANCE);
      }
    }
  }
  console.log('');
  console.log(
    `load average at end: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(`total ${((Date.now() - began) / 1000).toFixed(0)} s`);

  // The roofline per product: bench/products.ts on the same workloads (W3's products are too small
  // to leave the blocked kernels), each product alone, min of 5 calls, against the same peaks.
  const productWorkloads = selected.map((w) => w.name).filter((n) => n !== 'W3');
  if (!smoke && !values['no-roofline'] && productWorkloads.length > 0 && wasmKernels !== null) {
    console.log('');
    console.log(
      `roofline per product (bench/products.ts, min of 5 calls, wall time; --no-roofline leaves it out):`,
    );
    const products = fileURLToPath(new URL('./products.ts', import.meta.url));
    spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        products,
        '--workloads',
        productWorkloads.join(','),
        '--repeats',
        '5',
        '--peak-f64',
        String(peak.float64),
        '--peak-f32',
        String(peak.float32),
        ...(values.markdown ? ['--markdown'] : []),
      ],
      { stdio: 'inherit', timeout: 900_000 },
    );
  }

  if (smoke) {
    console.log('');
    console.log(
      `smoke: costs J_0..J_${SMOKE_ITERATIONS} of ${SMOKE_ITERATIONS} iterations (J_${SMOKE_ITERATIONS} shown), largest relative gap to the f64 reference kernels' costs`,
    );
    console.log(
      `${'workload'.padEnd(16)}${'configuration'.padEnd(24)}${`J_${SMOKE_ITERATIONS}`.padStart(22)}${`J_0 − J_${SMOKE_ITERATIONS}`.padStart(12)}${'gap'.padStart(10)}${'allowed'.padStart(8)}`,
    );
    for (const line of checked) console.log(line);
    if (!numpyOn) console.log(`notice: numpy not checked (${numpyMissing})`);
    if (problems.length > 0) {
      console.log('');
      for (const p of problems) console.log(`smoke problem: ${p}`);
      console.log(`smoke: FAILED (${problems.length} problem${problems.length === 1 ? '' : 's'})`);
      process.exitCode = 1;
    } else {
      console.log(`smoke: OK (${checked.length} results checked; times are not checked)`);
    }
  }

  if (values.markdown) {
    console.log('');
    console.log('| workload | implementation | ms / iteration | GFLOP/s | % of peak | × numpy |');
    console.log('|---|---|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.workload} | ${r.impl} | ${fmtMs(r.ms)} | ${fmtGf(r.gflops)} | ${fmtPeak(r.ofPeak)} | ${r.ratio === null ? '–' : r.ratio.toFixed(2)} |`,
      );
    }
  }
}

await main();
