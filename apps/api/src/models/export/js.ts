/**
 * The JavaScript export: one dependency-free ES module (browsers, Node, Deno, bundlers) with
 * `predict(samples)` answering exactly as POST /v1/models/{id}/predictions does. The weights are
 * embedded as base64 of little-endian float64 (W1, b1, ..., WL, bL, row-major in the course's
 * layout), so they are the stored doubles bit for bit; the normalisation statistics are JSON
 * numbers in shortest round-trip form, exact too. The forward pass is the course's
 * Z[l] = W[l]·A[l−1] + b[l], A[l] = g[l](Z[l]) with the same activation formulas as @backprop/nn;
 * only the order of the sums in W·A may differ, so outputs agree to about 1e-15.
 */
import { describeModel, type ExportSource } from './source.ts';

/** W1, b1, ..., WL, bL as base64 of little-endian float64. */
function parametersBase64(source: ExportSource): string {
  const { W, b } = source.model.network.weights;
  const arrays = [];
  for (let l = 1; l < W.length; l++) arrays.push(W[l]!.data, b[l]!.data);
  const count = arrays.reduce((n, a) => n + a.length, 0);
  const bytes = Buffer.alloc(8 * count);
  let offset = 0;
  for (const a of arrays) {
    for (const x of a) offset = bytes.writeDoubleLE(x, offset);
  }
  return bytes.toString('base64');
}

// The module's body: plain JavaScript, kept free of anything the service knows beyond the
// constants written above it.
const RUNTIME = `
function decodeParameters(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  const view = new DataView(bytes.buffer);
  const values = new Float64Array(bytes.length / 8);
  for (let k = 0; k < values.length; k++) values[k] = view.getFloat64(8 * k, true);
  const W = [];
  const b = [];
  let offset = 0;
  let nPrev = inputSize;
  for (const { units } of layers) {
    W.push(values.subarray(offset, offset + units * nPrev));
    offset += units * nPrev;
    b.push(values.subarray(offset, offset + units));
    offset += units;
    nPrev = units;
  }
  return { W, b };
}

const { W, b } = decodeParameters(PARAMETERS);

// (x − offset) / divisor, exactly as the service computes it: a divisor of 0 (a constant
// feature) divides by 1, and a difference beyond the largest double is taken in halves.
function shiftAndScale(x, offset, divisor) {
  const by = divisor === 0 ? 1 : divisor;
  const difference = x - offset;
  if (Number.isFinite(difference)) return difference / by;
  return ((x / 2 - offset / 2) / by) * 2;
}

/** Feature j of a raw sample as the network sees it. */
export function normalizeFeature(j, x) {
  switch (normalization.kind) {
    case 'standard':
      return shiftAndScale(x, normalization.mean[j], normalization.std[j]);
    case 'minmax': {
      const min = normalization.min[j];
      const max = normalization.max[j];
      const range = max - min;
      if (Number.isFinite(range)) return shiftAndScale(x, min, range);
      return (x / 2 - min / 2) / (max / 2 - min / 2);
    }
    default:
      return x;
  }
}

const ACTIVATIONS = {
  sigmoid: (Z) => Z.map((z) => 1 / (1 + Math.exp(-z))),
  tanh: (Z) => Z.map((z) => Math.tanh(z)),
  relu: (Z) => Z.map((z) => Math.max(z, 0)),
  leaky_relu: (Z, slope) => Z.map((z) => (z > 0 ? z : slope * z)),
  linear: (Z) => Z,
  softmax: (Z) => {
    const max = Math.max(...Z);
    const e = Z.map((z) => Math.exp(z - max));
    const sum = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / sum);
  },
};

/** The output layer's activations AL for one sample (raw units in, normalised here). */
export function forward(sample) {
  if (!Array.isArray(sample) || sample.length !== inputSize)
    throw new TypeError('predict: each sample must be an array of ' + inputSize + ' numbers (' + featureNames.join(', ') + ')');
  let A = sample.map((x, j) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new TypeError('predict: feature ' + j + ' is not a finite number');
    return normalizeFeature(j, x);
  });
  layers.forEach(({ units, activation, slope }, l) => {
    const nPrev = A.length;
    const Z = new Array(units);
    for (let i = 0; i < units; i++) {
      let sum = 0;
      for (let k = 0; k < nPrev; k++) sum += W[l][i * nPrev + k] * A[k];
      Z[i] = sum + b[l][i];
    }
    A = ACTIVATIONS[activation](Z, slope);
  });
  return A;
}

/**
 * Predictions for samples given one row of raw feature values each, as the service answers them:
 * { label, probabilities } for classification (a sigmoid output's probabilities are
 * [P(class 0), P(class 1)]), { value } for regression.
 */
export function predict(samples) {
  if (!Array.isArray(samples)) throw new TypeError('predict: samples must be an array of rows');
  return samples.map((sample) => {
    const output = forward(sample);
    if (task === 'regression') return { value: output[0] };
    if (output.length === 1) {
      const p = output[0];
      const index = p > 0.5 ? 1 : 0;
      return { label: classes[index] ?? index, probabilities: [1 - p, p] };
    }
    let index = 0;
    for (let i = 1; i < output.length; i++) if (output[i] > output[index]) index = i;
    return { label: classes[index] ?? index, probabilities: output };
  });
}
`;

export function exportJs(source: ExportSource): string {
  const d = describeModel(source);
  const constant = (name: string, value: unknown) => `export const ${name} = ${JSON.stringify(value)};`;
  return [
    `// A backprop model as a standalone ES module: no dependencies, no I/O.`,
    `// import { predict } from './model.mjs'; predict([[${d.featureNames.map(() => '0').join(', ')}]])`,
    `// Generated for model ${source.modelId} (job ${source.jobId}).`,
    constant('about', d.about),
    constant('task', d.task),
    constant('classes', d.classes ?? []),
    constant('featureNames', d.featureNames),
    constant('labelName', d.labelName),
    constant('inputSize', d.network.inputSize),
    constant(
      'layers',
      d.network.layers.map(({ units, activation, slope }) => ({ units, activation, slope })),
    ),
    constant('normalization', d.normalization),
    `// W1, b1, ..., WL, bL: little-endian float64, row-major, W[l] (n[l], n[l-1]), b[l] (n[l], 1)`,
    `const PARAMETERS = ${JSON.stringify(parametersBase64(source))};`,
    RUNTIME,
  ].join('\n');
}
