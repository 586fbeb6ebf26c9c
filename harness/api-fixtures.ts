/**
 * Rows a test or benchmark needs to exist before it can start, made through the API's own routes
 * (so they are what a client would have made): the planar dataset, and the smallest job the API
 * takes. A refused request throws with the answer, whoever calls.
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { planarCsv } from './api-context.ts';

/** What sends a request in-process with a key: an ApiContext's app, or the stack's InProcessApi. */
export interface Injector {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** Headers of the request: another tenant's Authorization, say; none sends the injector's key. */
type Headers = Record<string, string>;

/** POSTs and expects `status`; returns the new row's id. */
async function created(
  api: Injector,
  url: string,
  payload: InjectOptions['payload'],
  status: number,
  headers: Headers,
): Promise<string> {
  const res = await api.inject({ method: 'POST', url, payload, headers });
  if (res.statusCode !== status) throw new Error(`POST ${url}: ${res.statusCode} ${res.body}`);
  return String(res.json().id);
}

/** The course's planar "flower" data uploaded as CSV, as a dataset named planar; returns its id. */
export async function uploadPlanar(api: Injector): Promise<string> {
  return created(api, '/v1/datasets?name=planar', await planarCsv(), 201, { 'content-type': 'text/csv' });
}

const smallestDataset = (api: Injector, headers: Headers) =>
  created(api, '/v1/datasets', { features: [[0], [1], [2], [3]], labels: [0, 1, 0, 1] }, 201, headers);

const oneUnitNetwork = (api: Injector, inputSize: number, headers: Headers) =>
  created(api, '/v1/networks', { inputSize, layers: [{ units: 1, activation: 'sigmoid' }] }, 201, headers);

/** A dataset of 4 one-feature samples and a network of one sigmoid unit: the smallest job's inputs. */
export async function smallestJobInputs(
  api: Injector,
  headers: Headers = {},
): Promise<{ datasetId: string; networkId: string }> {
  return { datasetId: await smallestDataset(api, headers), networkId: await oneUnitNetwork(api, 1, headers) };
}

/**
 * A queued job of ten iterations on this dataset, with a network of one sigmoid unit made for
 * it: for tests that need a job to exist (to cancel, to stream, to block a delete), not to learn.
 */
export async function queueJobOn(
  api: Injector,
  datasetId: string,
  inputSize: number,
  headers: Headers = {},
): Promise<string> {
  const networkId = await oneUnitNetwork(api, inputSize, headers);
  const training = { learningRate: 0.1, iterations: 10 };
  return created(api, '/v1/jobs', { datasetId, networkId, training }, 202, headers);
}

/** The smallest job (smallestJobInputs' dataset and network), queued. */
export async function queueSmallestJob(api: Injector, headers: Headers = {}): Promise<string> {
  return queueJobOn(api, await smallestDataset(api, headers), 1, headers);
}
