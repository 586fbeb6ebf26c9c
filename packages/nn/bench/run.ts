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
 * From the repository root npm takes --options for itself; use BENCH_WORKLOADS, BENCH_REPEATS and
 * BENCH_TARGET_MS there, or run `npx tsx packages/nn/bench/run.ts --workloads W3`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DType, type LayerSpec, type Matrix, Network, setKernels, train, zeros } from '../src/index.ts';
import { blockedKernels, type Kernels, referenceKernels, wasmKernels } from '../src/kernels.ts';

/** The kernel configurations `--kernels` can name. */
const KERNELS: Record<string, () => Kernels | null> = {
  wasm: () => wasmKernels,
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

const WORKLOADS: readonly Workload[] = [
  {
    name: 'W1',
    title: 'cat-Llayer',
    inputSize: 12288,
    layers: [
      { units: 20, activation: 'relu' },
      { units: 7, activation: 'relu' },
      { units: 5, activation: 'relu' },
      { units: 1, activation: 'sigmoid' },
    ],
    m: 209,
    learningRate: 0.0075,
  },
  {
    name: 'W2',
    title: 'cat-2layer',
    inputSize: 12288,
    layers: [
      { units: 7, activation: 'relu' },
      { units: 1, activation: 'sigmoid' },
    ],
    m: 209,
    learningRate: 0.0075,
  },
  {
    name: 'W3',
    title: 'planar',
    inputSize: 2,
    layers: [
      { units: 4, activation: 'tanh' },
      { units: 1, activation: 'sigmoid' },
    ],
    m: 400,
    learningRate: 1.2,
  },
  {
    name: 'W4',
    title: 'wide',
    inputSize: 784,
    layers: [
      { units: 256, activation: 'relu' },
      { units: 128, activation: 'relu' },
      { units: 10, activation: 'sigmoid' },
    ],
    m: 10000,
    learningRate: 0.1,
  },
];

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

/** mulberry32: seeded data, the same every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function data(w: Workload, dtype: DType): { X: Matrix; Y: Matrix } {
  const next = rng(1);
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

interface Timing {
  readonly ms: number;
  readonly n: number;
  readonly repeats: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Per-iteration milliseconds of `run(n)` (n iterations), minus `run(0)` when `marginal`. Warm up
 * and calibrate by doubling n until one call takes a quarter of targetMs (one call when a single
 * iteration is already that slow), size n so that a repeat takes about targetMs, then take the
 * median over the repeats.
 */
function measure(run: (n: number) => void, targetMs: number, repeats: number, marginal: boolean): Timing {
  const time = (n: number) => {
    const t = performance.now();
    run(n);
    return performance.now() - t;
  };
  const base = () => (marginal ? time(0) : 0);
  let n = 1;
  let dt = time(n);
  let calls = 1;
  while ((dt < targetMs / 4 || calls < 2) && n < 1 << 24) {
    if (dt >= targetMs / 4) {
      dt = time(n); // a second call at this size: JIT warm-up for the slow workloads
    } else {
      n *= 2;
      dt = time(n);
    }
    calls++;
  }
  const perIteration = Math.max(dt - base(), dt / 2) / n;
  const reps = Math.max(1, Math.round(targetMs / perIteration));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push((time(reps) - base()) / reps);
  return { ms: median(times), n: reps, repeats: times };
}

interface NumpyResult {
  ok: boolean;
  error?: string;
  msPerIteration?: number;
  numpy?: string;
  python?: string;
  blas?: { name?: string; version?: string; coretype?: string; threads?: number; source?: string };
}

function runNumpy(args: string[], keepEnv: boolean): NumpyResult {
  const script = fileURLToPath(new URL('./numpy_ref.py', import.meta.url));
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

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

const fmtMs = (ms: number) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(4);
const fmtGf = (g: number) => (g >= 10 ? g.toFixed(1) : g.toFixed(2));

interface Row {
  workload: string;
  impl: string;
  ms: number;
  gflops: number;
  ratio: number | null;
}

/** Our timings for one workload and dtype, in this process (see runOurs). */
function measureOurs(w: Workload, dtype: DType, targetMs: number, repeats: number) {
  const { X, Y } = data(w, dtype);
  const net = Network.create({ inputSize: w.inputSize, layers: w.layers, init: 'he', seed: 1, dtype });
  const lr = { learningRate: w.learningRate };
  const step = measure(
    (n) => {
      for (let i = 0; i < n; i++) net.step(X, Y, lr);
    },
    targetMs,
    repeats,
    false,
  );
  const loop = measure(
    (n) => {
      train(net, X, Y, { ...lr, iterations: n, costEvery: Math.max(n, 1) });
    },
    targetMs,
    repeats,
    true,
  );
  return { step, train: loop };
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
): { step: Timing; train: Timing } | { error: string } {
  const script = fileURLToPath(import.meta.url);
  const args = [
    ...process.execArgv,
    script,
    '--child',
    `${workload}:${dtype}`,
    '--target-ms',
    String(targetMs),
    '--repeats',
    String(repeats),
    '--kernels',
    kernelsName,
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 600_000 });
  if (r.error) return { error: r.error.message };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: `exit ${r.status}: ${r.stderr.trim().slice(-500)}` };
  }
}

function main(): void {
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
      kernels: { type: 'string', default: env.BENCH_KERNELS ?? 'wasm,blocked' },
    },
  });
  const names = values.workloads.split(',').map((s) => s.trim().toUpperCase());
  const selected = WORKLOADS.filter((w) => names.includes(w.name));
  const repeats = Number(values.repeats);
  const targetMs = Number(values['target-ms']);
  const keepEnv = values['keep-openblas-env'];
  const kernelNames = values.kernels.split(',').map((s) => s.trim());
  for (const k of kernelNames) {
    if (!(k in KERNELS)) throw new Error(`--kernels takes ${Object.keys(KERNELS).join(', ')}; got ${k}`);
  }
  if (values.child !== undefined) {
    const [name, dtype] = values.child.split(':');
    const w = WORKLOADS.find((x) => x.name === name);
    if (w === undefined || (dtype !== 'float64' && dtype !== 'float32'))
      throw new Error(`bad --child ${values.child}`);
    const k = KERNELS[values.kernels]?.();
    if (k === undefined || k === null) throw new Error(`kernels ${values.kernels} are not available here`);
    setKernels(k);
    console.log(JSON.stringify(measureOurs(w, dtype, targetMs, repeats)));
    return;
  }
  const began = Date.now();

  let numpyOn = !values['no-numpy'];
  let info: NumpyResult | undefined;
  if (numpyOn) {
    info = runNumpy(['--workload', 'W3', '--info'], keepEnv);
    if (!info.ok) {
      console.log(`notice: numpy column skipped: ${info.error}`);
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
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log('');
  const header = `${'workload'.padEnd(16)}${'implementation'.padEnd(34)}${'ms/iter'.padStart(10)}${'GFLOP/s'.padStart(10)}${'× numpy'.padStart(10)}`;
  console.log(header);
  console.log('-'.repeat(header.length));

  const rows: Row[] = [];
  const print = (row: Row) => {
    rows.push(row);
    console.log(
      `${row.workload.padEnd(16)}${row.impl.padEnd(34)}${fmtMs(row.ms).padStart(10)}${fmtGf(row.gflops).padStart(10)}${(row.ratio === null ? '–' : row.ratio.toFixed(2)).padStart(10)}`,
    );
  };

  for (const w of selected) {
    const flops = flopsPerIteration(w);
    const label = `${w.name} ${w.title}`;
    let numpyMs: number | null = null;
    if (numpyOn) {
      const r = runNumpy(
        ['--workload', w.name, '--target-ms', String(targetMs), '--repeats', String(repeats)],
        keepEnv,
      );
      if (r.ok && r.msPerIteration !== undefined) {
        numpyMs = r.msPerIteration;
        print({
          workload: label,
          impl: 'numpy f64, 1 thread',
          ms: numpyMs,
          gflops: flops / numpyMs / 1e6,
          ratio: 1,
        });
      } else {
        console.log(`notice: numpy ${w.name} failed: ${r.error}`);
      }
    }
    for (const kernelName of kernelNames)
      for (const dtype of ['float64', 'float32'] as const) {
        const tag = `${dtype === 'float64' ? 'f64' : 'f32'} ${kernelName}`;
        const r = runOurs(w.name, dtype, targetMs, repeats, kernelName);
        if ('error' in r) {
          console.log(`notice: nn ${w.name} ${tag} failed: ${r.error}`);
          continue;
        }
        for (const [impl, t] of [
          [`nn ${tag} step()`, r.step],
          [`nn ${tag} train() loop`, r.train],
        ] as const) {
          print({
            workload: label,
            impl,
            ms: t.ms,
            gflops: flops / t.ms / 1e6,
            ratio: numpyMs === null ? null : t.ms / numpyMs,
          });
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

  if (values.markdown) {
    console.log('');
    console.log('| workload | implementation | ms / iteration | GFLOP/s | × numpy |');
    console.log('|---|---|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.workload} | ${r.impl} | ${fmtMs(r.ms)} | ${fmtGf(r.gflops)} | ${r.ratio === null ? '–' : r.ratio.toFixed(2)} |`,
      );
    }
  }
}

main();
