/**
 * A network's architecture: its layers as callers describe them and as they are after checking.
 * Its own file so the math (forward, backward, init, the workspace) imports the shape of a network
 * without importing the checks at the public edge (validate.ts), which build it.
 */
import type { ActivationName, OutputActivationName } from './activations.ts';

/** One dense layer: n[l] units and its activation g[l]. `slope` is leaky_relu's slope for z < 0. */
export interface LayerSpec {
  readonly units: number;
  readonly activation: ActivationName;
  readonly slope?: number;
}

/** A layer after checking: the slope filled in for leaky_relu (0 for the others, unused). */
export interface Layer {
  readonly units: number;
  readonly activation: ActivationName;
  readonly slope: number;
}

/** The output layer's activation (validated to be one of OUTPUT_ACTIVATIONS when the network was built). */
export function outputActivationOf(layers: readonly Layer[]): OutputActivationName {
  return layers[layers.length - 1]!.activation as OutputActivationName;
}
