/** Networks several test files build the same way, and their parameters' exact bits. */
import { type CreateOptions, type LayerSpec, Network } from '../src/index.ts';
import { bits } from './helpers.ts';

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

/** Each parameter's exact bits, for bit-identical comparisons of whole networks. */
export function parameterBits(net: Network): Record<string, string> {
  return Object.fromEntries(Object.entries(net.parameterMatrices()).map(([k, M]) => [k, bits(M.data)]));
}
