/**
 * The errors the nn package throws on purpose. Each is its own class so a caller (the worker, an
 * HTTP handler) can tell "the input was wrong" from "training diverged" from "training was
 * cancelled" without parsing messages, and each message says what happened in plain words.
 */
/**
 * Bad input at the public edge: mismatched shapes, NaN or Infinity in the data, labels that do not
 * fit the output layer, an unknown activation, weights that cannot train (all zero). The message
 * names the operation, the argument and the sizes, e.g.
 * `forward: X has 3 rows but the network expects inputSize 2`.
 */
export class NnInputError extends Error {
  override readonly name = 'NnInputError';
  /** The option at fault, when the error is about one option (e.g. 'validationSplit'). */
  readonly argument: string | undefined;
  /** The message without its operation prefix, to quote under another name for the option. */
  readonly reason: string;

  constructor(message: string, about?: { argument: string; reason: string }) {
    super(message);
    this.argument = about?.argument;
    this.reason = about?.reason ?? message;
  }
}

/**
 * The cost became NaN or ±Infinity during training: gradient descent overshot and the weights blew
 * up. Almost always the learning rate is too high. Deterministic: retrying the same job with the
 * same options diverges again.
 */
export class DivergenceError extends Error {
  override readonly name = 'DivergenceError';
  /** Updates made before the non-finite cost was seen (the cost is that of the parameters after them). */
  readonly iteration: number;
  /** The non-finite cost (NaN, Infinity or -Infinity). */
  readonly cost: number;
  /** The cost history recorded before divergence (same points as `TrainResult.costs`). */
  readonly costs: number[];
  /** The updates after which each entry of `costs` was recorded. */
  readonly costIterations: number[];

  constructor(
    iteration: number,
    cost: number,
    learningRate: number,
    costs: number[],
    costIterations: number[],
  ) {
    super(
      `train: the cost became ${cost} at iteration ${iteration}: training diverged; ` +
        `try a lower learning rate (it is ${learningRate})`,
    );
    this.iteration = iteration;
    this.cost = cost;
    this.costs = costs;
    this.costIterations = costIterations;
  }
}
