/**
 * Bad input at the public edge: each case throws NnInputError with a message that names the
 * operation, the argument and the sizes.
 */
import { describe, expect, it } from 'vitest';
import {
  type LayerSpec,
  matrix,
  Network,
  NnInputError,
  type TrainingCheckpoint,
  type TrainProgress,
  train,
} from '../src/index.ts';
import { dense, PLANAR_LAYERS, planarNetwork } from './networks.ts';

const net = () => planarNetwork({ seed: 1 });
const softmaxNet = () =>
  Network.create({ inputSize: 2, layers: dense([3, 'relu'], [3, 'softmax']), seed: 1 });
const X = [
  [0.1, 0.2, 0.3],
  [1, 2, 3],
];
const Y = [[0, 1, 1]];

function expectInputError(fn: () => unknown, message: RegExp | string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an NnInputError').toBeInstanceOf(NnInputError);
  expect((error as Error).message).toMatch(message);
}

/** Network.create with 2 inputs and these layers throws NnInputError with `message`. */
function expectLayersRefused(layers: LayerSpec[], message: RegExp | string): void {
  expectInputError(() => Network.create({ inputSize: 2, layers }), message);
}

describe('shapes', () => {
  it('X with the wrong number of rows', () => {
    expectInputError(
      () =>
        net().forward([
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ]),
      'forward: X has 3 rows but the network expects inputSize 2',
    );
  });

  it('Y with the wrong number of columns or rows', () => {
    expectInputError(() => net().cost(X, [[0, 1]]), 'cost: Y has 2 columns but X has 3');
    expectInputError(
      () =>
        net().cost(X, [
          [0, 1, 1],
          [1, 0, 0],
        ]),
      'cost: Y has 2 rows but the output layer has 1 units',
    );
    expectInputError(
      () => train(net(), X, [[0, 1, 1, 0]], { learningRate: 1, iterations: 1 }),
      'train: Y has 4 columns but X has 3',
    );
  });

  it('ragged rows', () => {
    expectInputError(
      () =>
        net().forward([
          [1, 2, 3],
          [4, 5],
        ]),
      'forward: X row 1 has 2 entries but row 0 has 3',
    );
  });

  it('a Matrix whose data does not fit its shape', () => {
    expectInputError(
      () => net().forward(matrix(2, 3, new Float64Array(5))),
      'matrix: data is (2, 3) so data needs 6 values but has 5',
    );
    expectInputError(
      () => net().forward({ rows: 2, cols: 3, data: new Float64Array(5) }),
      'forward: X is (2, 3) so data needs 6 values but has 5',
    );
  });

  it('parameters of the wrong shape, missing or extra', () => {
    const p = net().parameters();
    expectInputError(
      () => Network.fromParameters({ inputSize: 3, layers: PLANAR_LAYERS, parameters: p }),
      'Network.fromParameters: parameters.W1 is (4, 2) but layer 1 needs (4, 3)',
    );
    const { b2: _omit, ...missing } = p;
    expectInputError(
      () => Network.fromParameters({ inputSize: 2, layers: PLANAR_LAYERS, parameters: missing }),
      'parameters.b2 is missing',
    );
    expectInputError(
      () => Network.fromParameters({ inputSize: 2, layers: PLANAR_LAYERS, parameters: { ...p, W3: [[1]] } }),
      "parameters has an unexpected key 'W3'",
    );
  });
});

describe('values', () => {
  it('NaN or Infinity in X', () => {
    expectInputError(
      () =>
        net().forward([
          [1, Number.NaN, 3],
          [4, 5, 6],
        ]),
      'forward: X[0][1] is NaN; X must hold finite numbers',
    );
    expectInputError(
      () =>
        train(
          net(),
          [
            [1, 2, 3],
            [4, 5, Number.POSITIVE_INFINITY],
          ],
          Y,
          { learningRate: 1, iterations: 1 },
        ),
      'train: X[1][2] is Infinity',
    );
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    data[4] = Number.NaN;
    expectInputError(() => net().predict(matrix(2, 3, data)), /X\[1\]\[1\] is NaN|data\[1\]\[1\] is NaN/);
  });

  it('a non-number in X', () => {
    expectInputError(
      () =>
        net().forward([
          [1, '2' as unknown as number, 3],
          [4, 5, 6],
        ]),
      'X[0][1] is a string',
    );
  });

  it('labels outside {0, 1} for a sigmoid output', () => {
    expectInputError(
      () => net().cost(X, [[0, 2, 1]]),
      'cost: Y[0][1] is 2 but a sigmoid output needs labels 0 or 1',
    );
    expectInputError(
      () => train(net(), X, [[0, 0.5, 1]], { learningRate: 1, iterations: 1 }),
      'is 0.5 but a sigmoid output needs labels 0 or 1',
    );
  });

  it('one-hot columns that do not sum to 1 for softmax', () => {
    const bad = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 0],
    ];
    expectInputError(
      () => softmaxNet().cost(X, bad),
      'cost: column 1 of Y sums to 2 but softmax targets must be one-hot (each column sums to 1)',
    );
    expectInputError(
      () =>
        softmaxNet().cost(X, [
          [1, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ]),
      'column 1 of Y sums to 0 but softmax targets must be one-hot',
    );
    expectInputError(
      () =>
        softmaxNet().cost(X, [
          [2, 0, 0],
          [-1, 1, 0],
          [0, 0, 1],
        ]),
      'Y[0][0] is 2 but softmax targets are probabilities',
    );
  });

  it('empty data', () => {
    expectInputError(() => net().forward([]), 'forward: X is empty (0 rows)');
    expectInputError(() => net().forward([[], []]), 'forward: X has no samples (0 columns)');
    expectInputError(
      () =>
        train(net(), matrix(2, 0, new Float64Array(0)), matrix(1, 0, new Float64Array(0)), {
          learningRate: 1,
          iterations: 1,
        }),
      'train: X has no samples',
    );
    expectInputError(() => net().predictRows([]), 'predictRows: samples is empty');
  });

  it('rows of the wrong width in the row-per-sample entry', () => {
    expectInputError(
      () => net().predictRows([[1, 2, 3]]),
      'predictRows: samples have 3 features (columns) but the network expects inputSize 2',
    );
  });
});

describe('architecture and options', () => {
  it('unknown or misplaced activations', () => {
    expectLayersRefused(
      [
        { units: 3, activation: 'softmax' },
        { units: 1, activation: 'sigmoid' },
      ],
      "Network.create: layers[0].activation is 'softmax' but a hidden layer takes one of sigmoid, tanh, relu, leaky_relu",
    );
    expectLayersRefused(
      [{ units: 1, activation: 'relu' }],
      "layers[0].activation is 'relu' but the output layer takes one of sigmoid, softmax, linear",
    );
    expectLayersRefused([{ units: 1, activation: 'swish' as 'relu' }], "layers[0].activation is 'swish'");
    expectLayersRefused(
      [{ units: 1, activation: 'softmax' }],
      'a softmax output layer needs one unit per class (at least 2), got 1',
    );
  });

  it('bad sizes and slopes', () => {
    expectInputError(
      () => Network.create({ inputSize: 0, layers: PLANAR_LAYERS }),
      'Network.create: inputSize must be a positive integer, got 0',
    );
    expectLayersRefused([], 'layers must be a non-empty array');
    expectLayersRefused(
      [
        { units: 2.5, activation: 'tanh' },
        { units: 1, activation: 'sigmoid' },
      ],
      'layers[0].units must be a positive integer, got 2.5',
    );
    expectLayersRefused(
      [
        { units: 2, activation: 'tanh', slope: 0.1 },
        { units: 1, activation: 'sigmoid' },
      ],
      'layers[0].slope applies to leaky_relu only',
    );
    expectLayersRefused(
      [
        { units: 2, activation: 'leaky_relu', slope: -1 },
        { units: 1, activation: 'sigmoid' },
      ],
      'layers[0].slope must be a number in (0, 1], got -1',
    );
  });

  it('all-zero weights in a hidden layer are refused, saying why (symmetry)', () => {
    expectInputError(
      () => planarNetwork({ init: 'zeros' }),
      /W1 is all zeros \(init 'zeros'\) in hidden layer 1 of 4 units: every unit of the layer would compute the same function and receive the same gradient \(symmetry\)/,
    );
    const p = net().parameters();
    p['W1'] = p['W1']!.map((row) => row.map(() => 0));
    expectInputError(
      () => Network.fromParameters({ inputSize: 2, layers: PLANAR_LAYERS, parameters: p }),
      /Network\.fromParameters: W1 is all zeros \(as given\).*symmetry/,
    );
    // Zero weights without a hidden layer of 2+ units are fine: the course's logistic regression starts at w = 0.
    const logistic = Network.create({
      inputSize: 2,
      layers: [{ units: 1, activation: 'sigmoid' }],
      init: 'zeros',
    });
    expect(logistic.cost(X, Y)).toBeCloseTo(Math.log(2), 15);
    // And a zero output layer after a random hidden layer is fine too.
    const q = net().parameters();
    q['W2'] = [[0, 0, 0, 0]];
    expect(() =>
      Network.fromParameters({ inputSize: 2, layers: PLANAR_LAYERS, parameters: q }),
    ).not.toThrow();
  });

  it('a call that throws leaves the network unchanged', () => {
    const n = net();
    const before = n.parameters();
    const other = planarNetwork({ seed: 7 }).parameters();
    expectInputError(
      () => train(n, X, [[0, 1, 5]], { learningRate: 1, iterations: 1, parameters: other }),
      'train: Y[0][2] is 5',
    );
    expect(n.parameters()).toEqual(before);
  });

  it('bad train options', () => {
    expectInputError(
      () => train(net(), X, Y, { learningRate: 0, iterations: 1 }),
      'train: learningRate must be greater than 0, got 0',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1 }),
      'train: give exactly one of iterations or epochs',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 1.5 }),
      'train: iterations must be a finite integer',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 1, optimizer: 'rmsprop' as 'adam' }),
      "optimizer is 'rmsprop'",
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 1, seed: -1 }),
      'train: seed must be at least 0',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 1, validationSplit: 1 }),
      'validationSplit must be below 1',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 5, startIteration: 6 }),
      'startIteration must be at most 5',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 1, optimizer: 'adam', beta1: 1 }),
      'train: beta1 must be below 1, got 1',
    );
    expectInputError(
      () => train(net(), X, Y, { learningRate: 1, iterations: 1, optimizer: 'adam', epsilon: 0 }),
      'train: epsilon must be greater than 0, got 0',
    );
    expectInputError(
      () => planarNetwork({ init: 'ones' as 'he' }),
      "init is 'ones' but must be one of random, xavier, he, zeros",
    );
  });
});

describe('option keys', () => {
  /** Options as an untyped caller (JavaScript, a JSON body passed through) would hand them in. */
  const options = (extra: Record<string, unknown>) => ({ learningRate: 1, iterations: 2, ...extra });

  it('an option train does not know is refused by name, not ignored', () => {
    const n = net();
    const before = n.parameters();
    let error: unknown;
    try {
      train(n, X, Y, options({ workers: 2 }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NnInputError);
    expect((error as NnInputError).message).toMatch(
      /^train: unknown option workers; train takes learningRate, /,
    );
    expect((error as NnInputError).argument).toBe('workers');
    expect(n.parameters()).toEqual(before);
  });

  it('a typo is refused instead of falling back to the default; every unknown key is named', () => {
    expectInputError(
      () => train(net(), X, Y, options({ costEvry: 1, learning_rate: 0.1 })),
      'train: unknown options costEvry, learning_rate; train takes ',
    );
  });

  it('every documented option is accepted, including those of a checkpoint', () => {
    const n = net();
    let checkpoint: TrainingCheckpoint | undefined;
    const all = {
      learningRate: 0.1,
      iterations: 4,
      optimizer: 'adam' as const,
      beta: 0.8,
      beta1: 0.8,
      beta2: 0.99,
      epsilon: 1e-7,
      l2: 0.1,
      seed: 3,
      costEvery: 2,
      validationSplit: 0.34,
      earlyStopping: { patience: 5 },
      signal: { aborted: false },
      onProgress: (p: TrainProgress) => {
        if (p.iteration === 2) checkpoint = p.checkpoint();
      },
      parameters: n.parameters(),
    };
    expect(train(n, X, Y, all).iterations).toBe(4);
    // A resume hands the checkpoint's own keys back in (startIteration, optimizerState, rngState, ...).
    expect(train(net(), X, Y, { ...all, ...checkpoint! }).iterations).toBe(4);
  });
});
