/**
 * Two ways of sharing one training over 2 threads, measured side by side (issue 8), both through
 * train({ threads: 2 }):
 *
 *   samples  (the default) each thread runs forward and backward over its block of the samples
 *            (columns of X); the calling thread adds the blocks' dW, db in thread order and
 *            updates (train-parallel.ts).
 *   rows     parallelSettings.split = 'rows': each large product split by rows of its output
 *            (kernels-parallel.ts); element-wise work on the calling thread.
 *
 * Besides wall time it reads each thread's CPU time from /proc/self/task/<tid>/stat (Linux), so
 * that an oversubscribed machine still shows what each way costs: the busier thread's CPU time per
 * iteration is the iteration's time on two idle cores (the critical path), the sum is the work.
 *
 *   npx tsx packages/nn/scripts/bench-threads.ts [--workloads W1,W4] [--seconds 20]
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type LayerSpec, type Matrix, Network, Rng, setThreadSpawner, train } from '../src/index.ts';
import { parallelSettings } from '../src/kernels-parallel.ts';

const WORKLOADS: Record<string, { inputSize: number; units: number[]; m: number }> = {
  W1: { inputSize: 12288, units: [20, 7, 5, 1], m: 209 },
  W2: { inputSize: 12288, units: [7, 1], m: 209 },
  W4: { inputSize: 784, units: [256, 128, 10], m: 10000 },
};
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const workloads = arg('workloads', 'W1,W4').split(',');
const seconds = Number(arg('seconds', '20'));

const BOOT = new URL('./threads/boot.mjs', import.meta.url);
const ENTRY = new URL('./threads/helper.ts', import.meta.url).href;
const tids = new Int32Array(new SharedArrayBuffer(8));
const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU time of a thread of this process, ms. */
function cpuMs(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
}
const mainTid = process.pid;

function spawnHelper(): Worker {
  return new Worker(BOOT, { workerData: { entry: ENTRY, tids: tids.buffer, slot: 1 } });
}

interface Figures {
  wall: number;
  main: number;
  helper: number;
}

function data(w: { inputSize: number; units: number[]; m: number }) {
  const rng = new Rng(1);
  const X: Matrix = {
    rows: w.inputSize,
    cols: w.m,
    data: Float64Array.from({ length: w.inputSize * w.m }, () => rng.normal()),
  };
  const out = w.units.at(-1)!;
  const Y: Matrix = { rows: out, cols: w.m, data: Float64Array.from({ length: out * w.m }, (_, i) => i % 2) };
  const layers: LayerSpec[] = w.units.map((units, l) => ({
    units,
    activation: l === w.units.length - 1 ? 'sigmoid' : 'relu',
  }));
  return { X, Y, layers };
}

/** nn's train with 1 or 2 threads: figures per iteration after the first. */
function viaTrain(
  w: (typeof WORKLOADS)[string],
  threads: number,
  iterations: number,
  split: 'samples' | 'rows' = 'samples',
): Figures {
  tids[1] = 0;
  parallelSettings.split = split;
  const { X, Y, layers } = data(w);
  const net = Network.create({ inputSize: w.inputSize, layers, seed: 1 });
  let start: { wall: number; main: number; helper: number } | undefined;
  const sample = () => ({
    wall: performance.now(),
    main: cpuMs(mainTid),
    helper: threads > 1 && tids[1]! > 0 ? cpuMs(tids[1]!) : 0,
  });
  let end = sample();
  train(net, X, Y, {
    learningRate: 0.01,
    iterations: iterations + 1,
    costEvery: iterations + 1,
    threads,
    onIteration: (s) => {
      if (s.iteration === 1) start = sample();
      if (s.iteration === iterations + 1) end = sample();
      return 'continue';
    },
  });
  return {
    wall: (end.wall - start!.wall) / iterations,
    main: (end.main - start!.main) / iterations,
    helper: (end.helper - start!.helper) / iterations,
  };
}

setThreadSpawner(spawnHelper);
const rows: string[] = [];
for (const name of workloads) {
  const w = WORKLOADS[name]!;
  // Iterations for about `seconds` of one-thread CPU time (a first short run calibrates).
  const probe = viaTrain(w, 1, 2);
  const iterations = Math.max(3, Math.round((seconds * 1000) / Math.max(1, probe.main)));
  const runs: [string, Figures][] = [
    ['1 thread', viaTrain(w, 1, iterations)],
    ['2 threads, samples', viaTrain(w, 2, iterations)],
    ['2 threads, rows', viaTrain(w, 2, iterations, 'rows')],
  ];
  for (const [how, f] of runs) {
    const critical = Math.max(f.main, f.helper);
    rows.push(
      `| ${name} | ${how} | ${iterations} | ${f.wall.toFixed(1)} | ${f.main.toFixed(1)} | ${f.helper.toFixed(1)} | ${(f.main + f.helper).toFixed(1)} | ${critical.toFixed(1)} |`,
    );
    console.log(rows.at(-1));
  }
}
console.log(
  '\n| workload | how | iterations | wall ms/it | main CPU ms/it | helper CPU ms/it | total CPU ms/it | critical path ms/it |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
process.exit(0);
