/** Network definitions: dense layers, the last one being the output layer. */
import { z } from 'zod';
import { ABORT, deletedAt, Id, Name, PageQuery, page, Timestamp } from './common.ts';

export const HIDDEN_ACTIVATIONS = ['sigmoid', 'tanh', 'relu', 'leaky_relu'] as const;
export const OUTPUT_ACTIVATIONS = ['sigmoid', 'softmax', 'linear'] as const;
/**
 * Any activation; which one a layer may take depends on its position, checked by CreateNetwork.
 * An unknown name is refused with both lists, so a hidden layer is not offered the output-only
 * softmax and linear (a zod enum's message would list all six as if any layer took them).
 */
export const Activation = z.enum([...HIDDEN_ACTIVATIONS, 'softmax', 'linear'], {
  error: (issue) =>
    `${JSON.stringify(issue.input)} is not an activation: hidden layers take ${HIDDEN_ACTIVATIONS.join(', ')}; the output layer takes ${OUTPUT_ACTIVATIONS.join(', ')}`,
});
export type Activation = z.infer<typeof Activation>;

export const Init = z
  .enum(['random', 'xavier', 'he'])
  .describe('random: N(0,1)·0.01; xavier: N(0,1)·sqrt(1/n[l-1]); he: N(0,1)·sqrt(2/n[l-1])');
export type Init = z.infer<typeof Init>;

export const Layer = z.strictObject({
  units: z.number().int(ABORT).min(1, ABORT),
  activation: Activation,
  slope: z
    .number()
    .positive(ABORT)
    .max(1, ABORT)
    .optional()
    .describe('Slope for x < 0 of leaky_relu (default 0.01)'),
});
export type Layer = z.infer<typeof Layer>;

export const CreateNetwork = z
  .strictObject({
    name: Name.optional(),
    inputSize: z.number().int().min(1),
    layers: z
      .array(Layer)
      .min(1)
      .describe(
        'Hidden layers then the output layer (sigmoid: binary, softmax: classes, linear: regression)',
      ),
    init: Init.optional(),
  })
  .superRefine((net, ctx) => {
    // A few bad layers at most: a body of a million bad layers must not make a million issues.
    let reported = 0;
    for (const [i, layer] of net.layers.entries()) {
      if (reported >= 10) return;
      const isOutput = i === net.layers.length - 1;
      const allowed: readonly string[] = isOutput ? OUTPUT_ACTIVATIONS : HIDDEN_ACTIVATIONS;
      if (!allowed.includes(layer.activation)) {
        reported++;
        ctx.addIssue({
          code: 'custom',
          path: ['layers', i, 'activation'],
          message: `${isOutput ? 'the output layer' : 'a hidden layer'} takes one of ${allowed.join(', ')}`,
        });
      }
      if (layer.slope !== undefined && layer.activation !== 'leaky_relu') {
        reported++;
        ctx.addIssue({
          code: 'custom',
          path: ['layers', i, 'slope'],
          message: 'slope applies to leaky_relu only',
        });
      }
    }
    const output = net.layers.at(-1);
    if (output?.activation === 'sigmoid' && output.units !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['layers', net.layers.length - 1, 'units'],
        message: 'a sigmoid output layer has 1 unit (binary classification)',
      });
    }
    if (output?.activation === 'softmax' && output.units < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['layers', net.layers.length - 1, 'units'],
        message: 'a softmax output layer has one unit per class (at least 2)',
      });
    }
  })
  .meta({ id: 'CreateNetwork' });
export type CreateNetwork = z.infer<typeof CreateNetwork>;

export const ListNetworksQuery = PageQuery;

export const Network = z
  .object({
    id: Id,
    name: z.string(),
    inputSize: z.number().int(),
    layers: z.array(Layer),
    init: Init,
    parameterCount: z.number().int(),
    createdAt: Timestamp,
    deletedAt: deletedAt('kept because finished jobs refer to it; no new job may use it'),
  })
  .meta({ id: 'Network' });
export type Network = z.infer<typeof Network>;

export const NetworkPage = page(Network);

/** Σ over layers of n[l]·n[l-1] + n[l]: the weights and biases of the network. */
export function parameterCount(inputSize: number, layers: readonly { units: number }[]): number {
  let count = 0;
  let nPrev = inputSize;
  for (const { units } of layers) {
    count += units * nPrev + units;
    nPrev = units;
  }
  return count;
}
