/**
 * A model's bytes as the worker stores them (@backprop/nn's binary network format), for tests
 * that complete a job by hand with completeJob: the given weights, or every weight and bias
 * equal to `fill`.
 */
import { Layer } from '@backprop/contracts';
import { Network, type NetworkParameters, serializeBinary } from '@backprop/nn';

export function networkBytes(
  inputSize: number,
  layers: readonly unknown[],
  weights: NetworkParameters | number = 0,
): Uint8Array {
  const spec = { inputSize, layers: Layer.array().parse(layers) };
  if (typeof weights !== 'number') {
    return serializeBinary(Network.fromParameters({ ...spec, parameters: weights }));
  }
  const net = Network.create(spec);
  for (let l = 1; l <= net.depth; l++) {
    net.weights.W[l]!.data.fill(weights);
    net.weights.b[l]!.data.fill(weights);
  }
  return serializeBinary(net);
}
