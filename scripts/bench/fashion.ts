/**
 * `npm run bench:fashion`: the README's Fashion-MNIST recipe measured end to end (issue 13). The
 * API and a worker run as their own processes (as `npm start` runs them, production settings) on
 * a private Postgres and Redis (apps/worker/test/infra), and this run records:
 *
 *   upload      seconds to upload the 60,000 training images as IDX (the .gz files Debian ships)
 *               and as a gzip-encoded CSV (110 MB decompressed), and the API's peak RSS above its
 *               RSS before each upload (/proc/<pid>/status, sampled every 20 ms)
 *   training    the job's seconds per epoch through the service ([784, 256, 128, 10] relu/relu/
 *               softmax, Adam 0.001, mini-batches of 128, standard normalisation) beside
 *               @backprop/nn's own train() for one epoch of the same work in this process
 *   accuracy    the model's accuracy on the 10,000 test images (POST /v1/models/:id/evaluations);
 *               the floor is 0.8833, the MLP 256-128-100 of the dataset authors' benchmark table
 *
 * Options: --epochs 10   --samples 60000 (training images used)   --no-csv (skip the CSV upload)
 *          --upload-only (the uploads and their memory, no training)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { matrix, Network, oneHot, train } from '@backprop/nn';
import {
  type Client,
  fashionFiles,
  NETWORK,
  startFashionService,
  trainAndEvaluate,
  trainingOptions,
  uploadIdx,
} from '../fashion/recipe.ts';

const FLOOR = 0.8833;

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    samples: { type: 'string', default: '60000' },
    csv: { type: 'boolean', default: true },
    'upload-only': { type: 'boolean', default: false },
  },
  allowNegative: true,
});
const epochs = Number(values.epochs);
const samples = Number(values.samples);

/** Resident set size of a process, in MB. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Runs `work` while sampling the process's RSS; its result, with the peak growth over the start. */
async function withPeakRss<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; before: number; peak: number }> {
  const before = rssMb(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 20);
  try {
    return { result: await work(), before, peak };
  } finally {
    clearInterval(timer);
  }
}

/** The training images as a CSV (label first, then pixel1..pixel784), gzipped. */
function csvOf(images: Buffer, labels: Buffer): Buffer {
  const raw = gunzipSync(images);
  const rawLabels = gunzipSync(labels);
  const n = rawLabels.readUInt32BE(4);
  const header = `label,${Array.from({ length: 784 }, (_, j) => `pixel${j + 1}`).join(',')}\n`;
  const lines = [header];
  for (let i = 0; i < n; i++) {
    lines.push(
      `${rawLabels[8 + i]},${Array.from(raw.subarray(16 + i * 784, 16 + (i + 1) * 784)).join(',')}\n`,
    );
  }
  return gzipSync(Buffer.from(lines.join('')));
}

/** One epoch of @backprop/nn's own train() on the same data, standard-normalised as the job is. */
function packageEpochSeconds(images: Buffer, labels: Buffer): number {
  const raw = gunzipSync(images);
  const rawLabels = gunzipSync(labels);
  const m = rawLabels.readUInt32BE(4);
  const n = 784;
  const X = new Float64Array(n * m);
  for (let j = 0; j < n; j++) {
    let mean = 0;
    for (let i = 0; i < m; i++) mean += raw[16 + i * n + j]!;
    mean /= m;
    let v = 0;
    for (let i = 0; i < m; i++) v += (raw[16 + i * n + j]! - mean) ** 2;
    const std = Math.sqrt(v / m);
    for (let i = 0; i < m; i++)
      X[j * m + i] = std === 0 ? raw[16 + i * n + j]! - mean : (raw[16 + i * n + j]! - mean) / std;
  }
  const Y = oneHot(Float64Array.from(rawLabels.subarray(8, 8 + m)), 10);
  const net = Network.create({ inputSize: n, layers: [...NETWORK.layers], init: NETWORK.init, seed: 1 });
  const { normalize: _, ...options } = trainingOptions(1);
  const started = performance.now();
  train(net, matrix(n, m, X), Y, options);
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  console.log(`@backprop Fashion-MNIST benchmark, ${new Date().toISOString()}`);
  console.log(
    `${samples} training images, ${epochs} epochs; ${availableParallelism()} cores; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const service = await startFashionService();
  const { space, api } = service;
  try {
    const client: Client = { url: api.url, apiKey: space.apiKey };
    const trainFiles = fashionFiles('train', samples);
    const testFiles = fashionFiles('t10k');

    const idx = await withPeakRss(api.pid, () => uploadIdx(client, 'fashion-train', trainFiles));
    console.log(
      `upload IDX (${(trainFiles.images.length / 1e6).toFixed(1)} MB gzipped): ${idx.result.seconds.toFixed(1)} s, ` +
        `API RSS ${idx.before.toFixed(0)} → peak ${idx.peak.toFixed(0)} MB (+${(idx.peak - idx.before).toFixed(0)})`,
    );
    if (values.csv) {
      const csv = csvOf(trainFiles.images, trainFiles.labels);
      const upload = await withPeakRss(api.pid, async () => {
        const started = performance.now();
        const res = await fetch(`${api.url}/v1/datasets?name=fashion-csv`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${space.apiKey}`,
            'content-type': 'text/csv',
            'content-encoding': 'gzip',
          },
          body: csv,
        });
        if (res.status !== 201)
          throw new Error(`CSV upload: ${res.status} ${(await res.text()).slice(0, 300)}`);
        return (performance.now() - started) / 1000;
      });
      console.log(
        `upload CSV (${(csv.length / 1e6).toFixed(1)} MB gzipped): ${upload.result.toFixed(1)} s, ` +
          `API RSS ${upload.before.toFixed(0)} → peak ${upload.peak.toFixed(0)} MB (+${(upload.peak - upload.before).toFixed(0)})`,
      );
    }
    if (values['upload-only']) return;
    const test = await uploadIdx(client, 'fashion-test', testFiles);

    let lastLine = '';
    const result = await trainAndEvaluate(
      client,
      { trainId: idx.result.id, testId: test.id },
      epochs,
      (job) => {
        const line = `job ${job.status}`;
        if (line !== lastLine) console.log(line);
        lastLine = line;
      },
    );
    const serviceEpoch = result.trainSeconds / epochs;
    const packageEpoch = packageEpochSeconds(trainFiles.images, trainFiles.labels);
    console.log(
      `training: service ${serviceEpoch.toFixed(1)} s/epoch (${result.trainSeconds.toFixed(0)} s for ${epochs}), ` +
        `package ${packageEpoch.toFixed(1)} s/epoch, ratio ${(serviceEpoch / packageEpoch).toFixed(2)}`,
    );
    console.log(
      `test accuracy: ${result.testAccuracy.toFixed(4)} (floor ${FLOOR}: ${result.testAccuracy >= FLOOR ? 'reached' : 'NOT reached'})`,
    );
  } finally {
    await service.close();
  }
}

await main();
