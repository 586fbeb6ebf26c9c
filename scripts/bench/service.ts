/**
 * `npm run bench:service`: what the service adds to a training job's time. A W1 job (the course's
 * cat data, 12288 → 20 → 7 → 5 → 1 relu/sigmoid, m = 209, 2500 iterations of gradient descent)
 * runs through the real service: the API and a worker as their own processes (`npm run start:api`,
 * `npm run start:worker`, the commands package.json gives) on a private Postgres and Redis
 * (apps/worker/test/infra), the dataset uploaded as the gzipped CSV, the network and the job
 * created over HTTP. Then the same work runs in this process through @backprop/nn's own `train()`
 * (the same data, standard-normalised as the job's default, the same layers and options), and the
 * two are compared in the same run, alternating, `--repeats` times each (default 2):
 *
 *   service   the job's own finishedAt − startedAt (loading the dataset from Postgres, the
 *             normalisation, the training thread, progress and checkpoint writes, the model save),
 *             and the worker process's CPU time over the job (/proc/<pid>/stat)
 *   package   wall and CPU time of `train(net, X, Y, options)` alone
 *
 * and prints the medians and the ratio service / package (the target of issue 8: ≤ 1.1). The
 * worker runs with the production defaults of apps/worker/src/env.ts (PROGRESS_EVERY_MS 500,
 * CHECKPOINT_EVERY_MS 10000, THREAD_NICE 10, ...) unless the environment of this script sets them;
 * `--nice 0` runs the training thread at this script's priority (on a machine busy with other
 * work, nice 10 gives the job less of a core than the in-process run gets: see BENCHMARKS.md).
 *
 * Options: --repeats 2   --iterations 2500   --nice <0..19>   --threads 1 (training threads, the
 * job's training.threads and train()'s threads alike)   (BENCH_SERVICE_REPEATS, _ITERATIONS, _THREADS)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Job } from '@backprop/contracts';
import { fromRows, Network, train } from '@backprop/nn';
import { z } from 'zod';
import { ROOT } from '../../harness/processes.ts';
import { type ApiProcess, Space, startServers } from '../../harness/stack.ts';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: process.env.BENCH_SERVICE_REPEATS ?? '2' },
    iterations: { type: 'string', default: process.env.BENCH_SERVICE_ITERATIONS ?? '2500' },
    nice: { type: 'string', default: process.env.THREAD_NICE },
    threads: { type: 'string', default: process.env.BENCH_SERVICE_THREADS ?? '1' },
  },
});
const threads = Number(values.threads);
const repeats = Number(values.repeats);
const iterations = Number(values.iterations);
const LAYERS = [
  { units: 20, activation: 'relu' },
  { units: 7, activation: 'relu' },
  { units: 5, activation: 'relu' },
  { units: 1, activation: 'sigmoid' },
] as const;
const LEARNING_RATE = 0.0075;

/**
 * The worker's settings: its production defaults (apps/worker/src/env.ts), not the tests' fast
 * ones; PROGRESS_EVERY_MS and CHECKPOINT_EVERY_MS may be set in this script's environment.
 */
const WORKER_DEFAULTS: Record<string, string> = {
  WORKER_CONCURRENCY: '1',
  LOCK_DURATION_MS: '30000',
  STALLED_INTERVAL_MS: '15000',
  PROGRESS_EVERY_MS: process.env.PROGRESS_EVERY_MS ?? '500',
  CHECKPOINT_EVERY_MS: process.env.CHECKPOINT_EVERY_MS ?? '10000',
  LEASE_MS: '15000',
  RECONCILE_EVERY_MS: '15000',
  RECONCILE_QUEUED_AFTER_MS: '10000',
  HEARTBEAT_EVERY_MS: '10000',
  SHUTDOWN_TIMEOUT_MS: '20000',
  LOG_LEVEL: 'info',
};

const Created = z.object({ id: z.string() });

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the command: state is field 3; utime and stime are fields 14 and 15 (1-based)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The cat training set as the package takes it: X (12288, 209) standard-normalised, Y (1, 209). */
function catData(csv: string) {
  // one row per sample, the label first
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').map(Number));
  const X = fromRows(rows.map((row) => row.slice(1)));
  const Y = fromRows(rows.map((row) => row.slice(0, 1)));
  const { rows: n, cols: m } = X;
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let j = 0; j < m; j++) mean += X.data[i * m + j]!;
    mean /= m;
    let v = 0;
    for (let j = 0; j < m; j++) v += (X.data[i * m + j]! - mean) ** 2;
    const std = Math.sqrt(v / m) || 1;
    for (let j = 0; j < m; j++) X.data[i * m + j] = (X.data[i * m + j]! - mean) / std;
  }
  return { X, Y, n };
}

async function main(): Promise<void> {
  const gz = readFileSync(join(ROOT, 'data/catvnoncat_train.csv.gz'));
  const cat = catData(gunzipSync(gz).toString('utf8'));
  console.log(`@backprop service benchmark, ${new Date().toISOString()}`);
  console.log(
    `W1 cat-Llayer (12288 → 20 → 7 → 5 → 1, m = 209), ${iterations} iterations, gd α = ${LEARNING_RATE}; ` +
      `${repeats} repeat(s) each, alternating; ${availableParallelism()} cores; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  const { pg, redis } = await startServers();
  const space = await Space.create(pg, redis);
  // Interrupted: end the processes and servers this run started before exiting.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void space
        .close()
        .then(() => Promise.allSettled([pg.destroy(), redis.destroy()]))
        .finally(() => process.exit(130));
    });
  }
  try {
    const api: ApiProcess = await space.startApi({ LIMIT_TRAINING_WORK: '1000000000000', LOG_LEVEL: 'warn' });
    const nice: Record<string, string> = values.nice === undefined ? {} : { THREAD_NICE: values.nice };
    const worker = space.startWorker({ ...WORKER_DEFAULTS, ...nice });
    await worker.waitForLog((l) => l.msg === 'worker ready', 120_000);
    console.log(
      `worker: THREAD_NICE ${values.nice ?? '10 (default)'}, training threads ${threads}, PROGRESS_EVERY_MS ${WORKER_DEFAULTS.PROGRESS_EVERY_MS}, ` +
        `CHECKPOINT_EVERY_MS ${WORKER_DEFAULTS.CHECKPOINT_EVERY_MS}`,
    );
    const headers = { authorization: `Bearer ${space.apiKey}` };
    const upload = await fetch(`${api.url}/v1/datasets?name=cat`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/csv', 'content-encoding': 'gzip' },
      body: gz,
    });
    if (upload.status !== 201) throw new Error(`dataset upload: ${upload.status} ${await upload.text()}`);
    const datasetId = Created.parse(await upload.json()).id;
    const created = await space.fetch(api, 'POST', '/v1/networks', {
      name: 'cat-Llayer',
      inputSize: cat.n,
      layers: LAYERS,
      init: 'he',
    });
    if (created.status !== 201) throw new Error(`network: ${created.status} ${JSON.stringify(created.body)}`);
    const networkId = Created.parse(created.body).id;
    const training = { learningRate: LEARNING_RATE, iterations, normalize: 'standard', seed: 1, threads };

    const service: { ms: number; cpu: number; endToEnd: number }[] = [];
    const pkg: { ms: number; cpu: number }[] = [];
    for (let r = 0; r < repeats; r++) {
      // the service
      const cpu0 = cpuSeconds(worker.pid);
      const submitted = Date.now();
      const res = await space.fetch(api, 'POST', '/v1/jobs', { datasetId, networkId, training });
      if (res.status !== 202) throw new Error(`job: ${res.status} ${JSON.stringify(res.body)}`);
      const jobId = Created.parse(res.body).id;
      let job: Job;
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        job = Job.parse((await space.fetch(api, 'GET', `/v1/jobs/${jobId}`)).body);
        if (job.status !== 'queued' && job.status !== 'running') break;
      }
      if (job.status !== 'succeeded' || job.startedAt === null || job.finishedAt === null)
        throw new Error(`job ended ${job.status}: ${JSON.stringify(job.error)}`);
      const cpu = cpuSeconds(worker.pid) - cpu0;
      const ms = Date.parse(job.finishedAt) - Date.parse(job.startedAt);
      service.push({ ms, cpu: cpu * 1000, endToEnd: Date.parse(job.finishedAt) - submitted });
      console.log(
        `service  #${r + 1}: ${ms} ms (job startedAt → finishedAt), worker CPU ${(cpu * 1000).toFixed(0)} ms, ` +
          `submit → finished ${Date.parse(job.finishedAt) - submitted} ms, final cost ${job.cost}`,
      );
      // the package, same work
      const net = Network.create({ inputSize: cat.n, layers: [...LAYERS], init: 'he', seed: 1 });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const result = train(net, cat.X, cat.Y, { learningRate: LEARNING_RATE, iterations, seed: 1, threads });
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      pkg.push({ ms: wall, cpu: (c.user + c.system) / 1000 });
      console.log(
        `package  #${r + 1}: ${wall.toFixed(0)} ms (train()), CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, final cost ${result.finalCost}`,
      );
    }
    const s = median(service.map((x) => x.ms));
    const p = median(pkg.map((x) => x.ms));
    const sc = median(service.map((x) => x.cpu));
    const pc = median(pkg.map((x) => x.cpu));
    console.log('');
    console.log(
      `median service ${s.toFixed(0)} ms, package ${p.toFixed(0)} ms: service / package = ${(s / p).toFixed(3)} (wall; target ≤ 1.1)`,
    );
    console.log(
      `median CPU: worker ${sc.toFixed(0)} ms, package ${pc.toFixed(0)} ms: ratio ${(sc / pc).toFixed(3)}`,
    );
    console.log(
      `load average at end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await space.close();
    await Promise.allSettled([pg.destroy(), redis.destroy()]);
  }
}

await main();
