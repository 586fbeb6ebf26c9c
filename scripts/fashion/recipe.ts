/**
 * The README's Fashion-MNIST recipe, over HTTP: upload the training and test sets as Debian ships
 * them (IDX files, gzipped, apt-get install dataset-fashion-mnist), define [784, 256, 128, 10]
 * relu/relu/softmax, train it with Adam in mini-batches of 128, and evaluate the model on the test
 * set. The shortened test (scripts/test/fashion.long.test.ts) and `npm run bench:fashion` both run
 * it; `samples` cuts the files to their first images so the test stays short.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Job } from '@backprop/contracts';
import { z } from 'zod';
import { startPrivateService } from '../../harness/stack.ts';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

export const NETWORK = {
  name: 'fashion-mlp',
  inputSize: 784,
  layers: [
    { units: 256, activation: 'relu' },
    { units: 128, activation: 'relu' },
    { units: 10, activation: 'softmax' },
  ],
  init: 'he',
} as const;

/**
 * The worker's production timings (apps/worker/src/env.ts), not the fault tests' fast ones: a
 * 4-second lock on a loaded machine would count a healthy job as stalled.
 */
const WORKER_SETTINGS: Record<string, string> = {
  LOG_LEVEL: 'info', // its 'worker ready' line
  LOCK_DURATION_MS: '30000',
  STALLED_INTERVAL_MS: '15000',
  LEASE_MS: '15000',
  PROGRESS_EVERY_MS: '500',
  CHECKPOINT_EVERY_MS: '10000',
  HEARTBEAT_EVERY_MS: '10000',
};

/** The API and a worker as their own processes, as `npm start` runs them, on private servers. */
export function startFashionService() {
  return startPrivateService({ api: { LOG_LEVEL: 'warn' }, worker: WORKER_SETTINGS }, 300_000);
}

export function trainingOptions(epochs: number) {
  return {
    optimizer: 'adam',
    learningRate: 0.001,
    batchSize: 128,
    epochs,
    normalize: 'standard',
    seed: 1,
  } as const;
}

export interface IdxFiles {
  /** gzipped, as sent */
  images: Buffer;
  labels: Buffer;
  samples: number;
}

/**
 * The split's files as shipped, or their first `samples` images and labels (gzipped again: the
 * headers give the count, so a cut needs new headers).
 */
export function fashionFiles(split: 'train' | 't10k', samples?: number): IdxFiles {
  const images = readFileSync(`${FASHION_DIR}/${split}-images-idx3-ubyte.gz`);
  const labels = readFileSync(`${FASHION_DIR}/${split}-labels-idx1-ubyte.gz`);
  const all = gunzipSync(labels).readUInt32BE(4);
  if (samples === undefined || samples >= all) return { images, labels, samples: all };
  const rawImages = gunzipSync(images);
  const rawLabels = gunzipSync(labels);
  const cutImages = Buffer.from(rawImages.subarray(0, 16 + samples * 784));
  cutImages.writeUInt32BE(samples, 4);
  const cutLabels = Buffer.from(rawLabels.subarray(0, 8 + samples));
  cutLabels.writeUInt32BE(samples, 4);
  return { images: gzipSync(cutImages), labels: gzipSync(cutLabels), samples };
}

export interface Client {
  url: string;
  apiKey: string;
}

const Created = z.object({ id: z.string() });
const Evaluation = z.object({ metrics: z.object({ accuracy: z.number() }) });

/** One API request as JSON; anything but a 2xx is thrown with its status and body. */
export async function call(client: Client, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${client.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${client.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** Uploads IDX files as one multipart request; the dataset's id and the seconds it took. */
export async function uploadIdx(client: Client, name: string, files: IdxFiles) {
  const form = new FormData();
  form.append('images', new Blob([files.images]), 'images-idx3-ubyte.gz');
  form.append('labels', new Blob([files.labels]), 'labels-idx1-ubyte.gz');
  const started = performance.now();
  const res = await fetch(`${client.url}/v1/datasets?name=${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.apiKey}` },
    body: form,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${text.slice(0, 500)}`);
  return { id: Created.parse(JSON.parse(text)).id, seconds: (performance.now() - started) / 1000 };
}

export interface RecipeResult {
  jobId: string;
  modelId: string;
  /** the job's startedAt → finishedAt */
  trainSeconds: number;
  testAccuracy: number;
}

/** The job as the API shows it now. */
export async function getJob(client: Client, jobId: string): Promise<Job> {
  return Job.parse(await call(client, 'GET', `/v1/jobs/${jobId}`));
}

/** Defines the network and submits a job training it on `datasetId` for `epochs`; the job's id. */
export async function startTraining(client: Client, datasetId: string, epochs: number): Promise<string> {
  const network = Created.parse(await call(client, 'POST', '/v1/networks', NETWORK));
  const job = { datasetId, networkId: network.id, training: trainingOptions(epochs) };
  return Created.parse(await call(client, 'POST', '/v1/jobs', job)).id;
}

/** Defines the network, trains it on `trainId` for `epochs` and evaluates it on `testId`. */
export async function trainAndEvaluate(
  client: Client,
  datasets: { trainId: string; testId: string },
  epochs: number,
  onProgress: (job: Job) => void = () => undefined,
): Promise<RecipeResult> {
  const jobId = await startTraining(client, datasets.trainId, epochs);
  let job: Job;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    job = await getJob(client, jobId);
    onProgress(job);
    if (job.status !== 'queued' && job.status !== 'running') break;
  }
  if (
    job.status !== 'succeeded' ||
    job.modelId === null ||
    job.startedAt === null ||
    job.finishedAt === null
  ) {
    throw new Error(`the job ended ${job.status}: ${JSON.stringify(job.error)}`);
  }
  const evaluation = Evaluation.parse(
    await call(client, 'POST', `/v1/models/${job.modelId}/evaluations`, { datasetId: datasets.testId }),
  );
  return {
    jobId: job.id,
    modelId: job.modelId,
    trainSeconds: (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000,
    testAccuracy: evaluation.metrics.accuracy,
  };
}
