/** Networks several test files build the same way, their parameters' exact bits, and resuming them. */
import { expect } from 'vitest';
import {
  type ActivationName,
  type CreateOptions,
  deserializeCheckpoint,
  type LayerSpec,
  type Matrix,
  Network,
  serializeCheckpoint,
  type TrainingCheckpoint,
  type TrainOptions,
  type TrainResult,
  train,
} from '../src/index.ts';
import { bits } from './helpers.ts';

/** One layer as the tests write it: units, activation and, for leaky_relu, the slope. */
export type DenseLayer = readonly [units: number, activation: ActivationName, slope?: number];

/** A layer list from `[units, activation]` pairs: `dense([4, 'tanh'], [1, 'sigmoid'])`. */
export function dense(...layers: readonly DenseLayer[]): LayerSpec[] {
  return layers.map(([units, activation, slope]) =>
    slope === undefined ? { units, activation } : { units, activation, slope },
  );
}

/** The course's week 3 planar network: 2 inputs → 4 tanh → 1 sigmoid. */
export const PLANAR_LAYERS: readonly LayerSpec[] = [
  { units: 4, activation: 'tanh' },
  { units: 1, activation: 'sigmoid' },
];

/** A new planar network (2 → 4 tanh → 1 sigmoid); `options` are the rest of Network.create's. */
export function planarNetwork(options: Omit<CreateOptions, 'inputSize' | 'layers'> = {}): Network {
  return Network.create({ inputSize: 2, layers: PLANAR_LAYERS, ...options });
}

/** 2 → 5 relu → 3 tanh → 1 sigmoid: the network the determinism and resumption tests train. */
export const MIXED_LAYERS: readonly LayerSpec[] = [
  { units: 5, activation: 'relu' },
  { units: 3, activation: 'tanh' },
  { units: 1, activation: 'sigmoid' },
];

/** A new 2 → 5 relu → 3 tanh → 1 sigmoid network; `options` are the rest of Network.create's. */
export function mixedNetwork(options: Omit<CreateOptions, 'inputSize' | 'layers'> = {}): Network {
  return Network.create({ inputSize: 2, layers: MIXED_LAYERS, ...options });
}

/**
 * Mini-batch Adam on the planar data with early stopping: mixedNetwork({ init: 'he', seed: 1 })
 * runs out of patience at update 63 of 72 (found by trying; any early stop would do).
 */
export const STOPS_EARLY: TrainOptions = {
  learningRate: 0.08,
  epochs: 8,
  batchSize: 32,
  costEvery: 3,
  optimizer: 'adam',
  validationSplit: 0.3,
  earlyStopping: { patience: 2 },
  seed: 3,
};

/** Each parameter's exact bits, for bit-identical comparisons of whole networks. */
export function parameterBits(net: Network): Record<string, string> {
  return Object.fromEntries(Object.entries(net.parameterMatrices()).map(([k, M]) => [k, bits(M.data)]));
}

/**
 * Trains `resumed` from `checkpoint` (through its bytes, as a worker stores it) with `options`, and
 * checks it ends with `full`'s parameters bit for bit. Returns the resumed run's result.
 */
export function expectResumesTo(
  full: Network,
  resumed: Network,
  data: { X: Matrix; Y: Matrix },
  options: TrainOptions,
  checkpoint: TrainingCheckpoint,
): TrainResult {
  const result = train(resumed, data.X, data.Y, {
    ...options,
    ...deserializeCheckpoint(serializeCheckpoint(checkpoint)),
  });
  expect(parameterBits(resumed)).toEqual(parameterBits(full));
  return result;
}
