/**
 * Saving and loading networks (and training checkpoints), bit-exact.
 *
 * JSON (`serialize` → string): versioned, readable, the course's layout:
 *   { "format": "backprop-nn", "version": 1, "dtype": "float64", "inputSize": 2,
 *     "layers": [{ "units": 4, "activation": "tanh" }, { "units": 1, "activation": "sigmoid" }],
 *     "parameters": { "W1": [[...], ...], "b1": [[...], ...], "W2": ..., "b2": ... } }
 * Numbers are written in JavaScript's shortest round-trip form, so parsing gives back the same
 * doubles; −0 is written as `-0` (JSON.stringify would write 0). NaN and ±Infinity have no JSON
 * form and are refused.
 *
 * Binary (`serializeBinary` → Uint8Array): a 16-byte header, 16 bytes per layer, then the
 * parameters W1, b1, ..., WL, bL row-major as little-endian float64 (or float32):
 *   0  "BPNN"   4  u16 version (1)   6  u8 dtype (1 float64, 2 float32)   7  u8 0
 *   8  u32 inputSize   12  u32 L
 *   16 + 16·(l−1): u32 units, u8 activation code, 3 bytes 0, f64 slope (leaky_relu; else 0)
 *   16 + 16·L: the float data
 * All integers little-endian. `deserialize` takes either form.
 *
 * Checkpoints (`serializeCheckpoint` → Uint8Array): the state of `TrainingCheckpoint` in the same
 * spirit (see the layout at `serializeCheckpoint`), for storing as bytes between worker restarts.
 */
import type { ActivationName } from './activations.ts';
import { NnInputError } from './errors.ts';
import type { DType, FloatArray, Matrix } from './matrix.ts';
import { zeros } from './matrix.ts';
import { Network, type ParameterMatrices, specOf } from './network.ts';
import { OPTIMIZERS, type OptimizerName, type OptimizerState } from './optimizers.ts';
import type { RngState } from './rng.ts';
import type { EarlyStoppingState, TrainingCheckpoint } from './train.ts';

export const FORMAT = 'backprop-nn';
export const FORMAT_VERSION = 1;

/**
 * The two binary documents. Both start with the same 7 bytes: magic (u32), FORMAT_VERSION (u16),
 * dtype code (u8). `minBytes` is the fixed header; the messages name the document when it is not one.
 */
interface BinaryKind {
  readonly magic: number;
  readonly minBytes: number;
  readonly notThis: string;
  readonly versionName: string;
}
const MODEL_BINARY: BinaryKind = {
  magic: 0x4e4e5042, // "BPNN" read as a little-endian u32
  minBytes: 16,
  notThis: 'not a backprop network (the bytes do not start with "BPNN")',
  versionName: 'binary format',
};
const CHECKPOINT_BINARY: BinaryKind = {
  magic: 0x4b435042, // "BPCK"
  minBytes: 72,
  notThis: 'not a backprop checkpoint (the bytes do not start with "BPCK")',
  versionName: 'checkpoint',
};
const ACTIVATION_CODES: readonly ActivationName[] = [
  'sigmoid',
  'tanh',
  'relu',
  'leaky_relu',
  'softmax',
  'linear',
];
const OPTIMIZER_CODES: readonly OptimizerName[] = ['gd', 'momentum', 'adam'];

function bad(op: string, why: string): never {
  throw new NnInputError(`${op}: ${why}`);
}

/** A number as JSON text that parses back to the same double (−0 included). */
function jsonNumber(x: number, where: string): string {
  if (!Number.isFinite(x)) bad('serialize', `${where} is ${x}, which JSON cannot carry`);
  return Object.is(x, -0) ? '-0' : String(x);
}

function jsonMatrix(M: Matrix, name: string): string {
  const rows: string[] = [];
  for (let i = 0; i < M.rows; i++) {
    const row: string[] = [];
    for (let j = 0; j < M.cols; j++) row.push(jsonNumber(M.data[i * M.cols + j]!, `${name}[${i}][${j}]`));
    rows.push(`[${row.join(',')}]`);
  }
  return `[${rows.join(',')}]`;
}

/** The network as versioned JSON text (see the file header). */
export function serialize(net: Network): string {
  const header = JSON.stringify({
    format: FORMAT,
    version: FORMAT_VERSION,
    dtype: net.dtype,
    inputSize: net.inputSize,
    layers: net.layers.map(specOf),
  });
  const params: string[] = [];
  for (let l = 1; l <= net.depth; l++) {
    params.push(
      `"W${l}":${jsonMatrix(net.weights.W[l]!, `W${l}`)}`,
      `"b${l}":${jsonMatrix(net.weights.b[l]!, `b${l}`)}`,
    );
  }
  return `${header.slice(0, -1)},"parameters":{${params.join(',')}}}`;
}

function dtypeCode(dtype: DType): number {
  return dtype === 'float64' ? 1 : 2;
}

function dtypeFromCode(code: number, op: string): DType {
  if (code === 1) return 'float64';
  if (code === 2) return 'float32';
  return bad(op, `unknown dtype code ${code}`);
}

function writeBinaryHeader(view: DataView, kind: BinaryKind, dtype: DType): void {
  view.setUint32(0, kind.magic, true);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint8(6, dtypeCode(dtype));
}

/** A view of `bytes` and their dtype, once the magic number and the version say they are `kind`. */
function readBinaryHeader(bytes: Uint8Array, kind: BinaryKind, op: string): { view: DataView; dtype: DType } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < kind.minBytes || view.getUint32(0, true) !== kind.magic) bad(op, kind.notThis);
  const version = view.getUint16(4, true);
  if (version !== FORMAT_VERSION)
    bad(op, `${kind.versionName} version ${version} is not supported (this library reads ${FORMAT_VERSION})`);
  return { view, dtype: dtypeFromCode(view.getUint8(6), op) };
}

function writeFloats(view: DataView, offset: number, data: FloatArray, dtype: DType): number {
  if (dtype === 'float64') {
    for (let k = 0; k < data.length; k++) view.setFloat64(offset + 8 * k, data[k]!, true);
    return offset + 8 * data.length;
  }
  for (let k = 0; k < data.length; k++) view.setFloat32(offset + 4 * k, data[k]!, true);
  return offset + 4 * data.length;
}

function readFloats(view: DataView, offset: number, M: Matrix, dtype: DType): number {
  const d = M.data;
  if (dtype === 'float64') {
    for (let k = 0; k < d.length; k++) d[k] = view.getFloat64(offset + 8 * k, true);
    return offset + 8 * d.length;
  }
  for (let k = 0; k < d.length; k++) d[k] = view.getFloat32(offset + 4 * k, true);
  return offset + 4 * d.length;
}

/** The network as compact bytes: small header + little-endian floats (see the file header). */
export function serializeBinary(net: Network): Uint8Array<ArrayBuffer> {
  const L = net.depth;
  const width = net.dtype === 'float64' ? 8 : 4;
  let count = 0;
  for (let l = 1; l <= L; l++) count += net.weights.W[l]!.data.length + net.weights.b[l]!.data.length;
  const bytes = new Uint8Array(16 + 16 * L + width * count);
  const view = new DataView(bytes.buffer);
  writeBinaryHeader(view, MODEL_BINARY, net.dtype);
  view.setUint32(8, net.inputSize, true);
  view.setUint32(12, L, true);
  net.layers.forEach((layer, i) => {
    const at = 16 + 16 * i;
    view.setUint32(at, layer.units, true);
    view.setUint8(at + 4, ACTIVATION_CODES.indexOf(layer.activation) + 1);
    view.setFloat64(at + 8, layer.activation === 'leaky_relu' ? layer.slope : 0, true);
  });
  let offset = 16 + 16 * L;
  for (let l = 1; l <= L; l++) {
    offset = writeFloats(view, offset, net.weights.W[l]!.data, net.dtype);
    offset = writeFloats(view, offset, net.weights.b[l]!.data, net.dtype);
  }
  return bytes;
}

function deserializeBinary(bytes: Uint8Array): Network {
  const op = 'deserialize';
  const { view, dtype } = readBinaryHeader(bytes, MODEL_BINARY, op);
  const inputSize = view.getUint32(8, true);
  const L = view.getUint32(12, true);
  if (bytes.byteLength < 16 + 16 * L) bad(op, `the bytes end inside the layer table (${L} layers)`);
  const layers = [];
  for (let i = 0; i < L; i++) {
    const at = 16 + 16 * i;
    const activation = ACTIVATION_CODES[view.getUint8(at + 4) - 1];
    if (activation === undefined)
      bad(op, `layer ${i + 1} has an unknown activation code ${view.getUint8(at + 4)}`);
    const units = view.getUint32(at, true);
    layers.push(
      activation === 'leaky_relu'
        ? { units, activation, slope: view.getFloat64(at + 8, true) }
        : { units, activation },
    );
  }
  const width = dtype === 'float64' ? 8 : 4;
  const parameters: ParameterMatrices = {};
  let count = 0;
  let nPrev = inputSize;
  for (let l = 1; l <= L; l++) {
    const n = layers[l - 1]!.units;
    parameters[`W${l}`] = zeros(n, nPrev, dtype);
    parameters[`b${l}`] = zeros(n, 1, dtype);
    count += n * nPrev + n;
    nPrev = n;
  }
  const expected = 16 + 16 * L + width * count;
  if (bytes.byteLength !== expected)
    bad(op, `the bytes are ${bytes.byteLength} long but this network needs ${expected}`);
  let offset = 16 + 16 * L;
  for (let l = 1; l <= L; l++) {
    offset = readFloats(view, offset, parameters[`W${l}`]!, dtype);
    offset = readFloats(view, offset, parameters[`b${l}`]!, dtype);
  }
  return Network.fromParameters({ inputSize, layers, dtype, parameters });
}

/** A network from `serialize`'s JSON text or `serializeBinary`'s bytes. */
export function deserialize(data: string | Uint8Array): Network {
  if (data instanceof Uint8Array) return deserializeBinary(data);
  const op = 'deserialize';
  if (typeof data !== 'string') bad(op, 'expected JSON text (string) or bytes (Uint8Array)');
  let doc: unknown;
  try {
    doc = JSON.parse(data);
  } catch (e) {
    bad(op, `not valid JSON (${(e as Error).message})`);
  }
  return networkFromDocument(doc, op);
}

/** A network from `serialize`'s JSON once parsed (also the `network` of a model export). */
export function networkFromDocument(doc: unknown, op: string): Network {
  if (typeof doc !== 'object' || doc === null) bad(op, 'expected a JSON object');
  const { format, version, dtype, inputSize, layers, parameters } = doc as Record<string, unknown>;
  if (format !== FORMAT) bad(op, `format is ${JSON.stringify(format)}, expected "${FORMAT}"`);
  if (version !== FORMAT_VERSION)
    bad(op, `version ${String(version)} is not supported (this library reads ${FORMAT_VERSION})`);
  // fromParameters checks the rest (sizes, shapes, finite values) with its own messages.
  return Network.fromParameters({
    inputSize: inputSize as number,
    layers: layers as Network['layers'],
    dtype: dtype as DType,
    parameters: parameters as Record<string, number[][]>,
  });
}

// ---- checkpoints ----

interface Shape {
  rows: number;
  cols: number;
}

/**
 * A training checkpoint as bytes (little-endian):
 *   0  "BPCK"   4  u16 version (1)   6  u8 dtype   7  u8 optimizer (1 gd, 2 momentum, 3 adam)
 *   8  f64 startIteration   16  f64 optimizer t   24  4 × u32 rngState
 *   40 u8 has early-stopping state   41 u8 has best parameters   42 2 bytes 0   44 u32 L
 *   48 f64 bestValidationCost   56 f64 bestIteration   64 f64 evaluationsWithoutImprovement
 *   72 + 8·(l−1): u32 n[l], u32 n[l−1]
 *   72 + 8·L: floats: W1, b1, ..., WL, bL; then v (momentum, adam); then s (adam); then the best
 *   parameters (if any), each in the order dW1/W1, db1/b1, ...
 */
export function serializeCheckpoint(checkpoint: TrainingCheckpoint): Uint8Array {
  const op = 'serializeCheckpoint';
  const { parameters, optimizerState, rngState, earlyStoppingState: es } = checkpoint;
  const shapes: Shape[] = [];
  for (let l = 1; parameters[`W${l}`] !== undefined; l++) {
    const W = parameters[`W${l}`]!;
    shapes.push({ rows: W.rows, cols: W.cols });
  }
  const L = shapes.length;
  if (L === 0) bad(op, 'the checkpoint has no parameters W1, b1, ...');
  const dtype: DType = parameters['W1']!.data instanceof Float32Array ? 'float32' : 'float64';
  const width = dtype === 'float64' ? 8 : 4;
  const moments = OPTIMIZERS[optimizerState.optimizer].moments;
  const best = es?.bestParameters ?? null;
  const sets: { prefix: string; from: Readonly<Record<string, Matrix>> }[] = [
    { prefix: '', from: parameters },
  ];
  if (moments >= 1) sets.push({ prefix: 'd', from: optimizerState.v });
  if (moments >= 2) sets.push({ prefix: 'd', from: optimizerState.s });
  if (best !== null) sets.push({ prefix: '', from: best });
  let perSet = 0;
  for (const { rows, cols } of shapes) perSet += rows * cols + rows;
  const header = 72 + 8 * L;
  const bytes = new Uint8Array(header + width * perSet * sets.length);
  const view = new DataView(bytes.buffer);
  writeBinaryHeader(view, CHECKPOINT_BINARY, dtype);
  view.setUint8(7, OPTIMIZER_CODES.indexOf(optimizerState.optimizer) + 1);
  view.setFloat64(8, checkpoint.startIteration, true);
  view.setFloat64(16, optimizerState.t, true);
  for (let k = 0; k < 4; k++) view.setUint32(24 + 4 * k, rngState[k]!, true);
  view.setUint8(40, es === undefined ? 0 : 1);
  view.setUint8(41, best === null ? 0 : 1);
  view.setUint32(44, L, true);
  view.setFloat64(48, es?.bestValidationCost ?? 0, true);
  view.setFloat64(56, es?.bestIteration ?? 0, true);
  view.setFloat64(64, es?.evaluationsWithoutImprovement ?? 0, true);
  shapes.forEach(({ rows, cols }, i) => {
    view.setUint32(72 + 8 * i, rows, true);
    view.setUint32(76 + 8 * i, cols, true);
  });
  let offset = header;
  for (const { prefix, from } of sets) {
    for (let l = 1; l <= L; l++) {
      for (const [key, rows, cols] of [
        [`${prefix}W${l}`, shapes[l - 1]!.rows, shapes[l - 1]!.cols],
        [`${prefix}b${l}`, shapes[l - 1]!.rows, 1],
      ] as const) {
        const M = from[key];
        if (M === undefined || M.rows !== rows || M.cols !== cols || M.data.length !== rows * cols) {
          bad(op, `${key} is missing or not (${rows}, ${cols})`);
        }
        offset = writeFloats(view, offset, M.data, dtype);
      }
    }
  }
  return bytes;
}

/** A checkpoint from `serializeCheckpoint`'s bytes. */
export function deserializeCheckpoint(bytes: Uint8Array): TrainingCheckpoint {
  const op = 'deserializeCheckpoint';
  const { view, dtype } = readBinaryHeader(bytes, CHECKPOINT_BINARY, op);
  const optimizer = OPTIMIZER_CODES[view.getUint8(7) - 1];
  if (optimizer === undefined) bad(op, `unknown optimizer code ${view.getUint8(7)}`);
  const hasEs = view.getUint8(40) === 1;
  const hasBest = view.getUint8(41) === 1;
  const L = view.getUint32(44, true);
  const header = 72 + 8 * L;
  if (bytes.byteLength < header) bad(op, `the bytes end inside the shape table (${L} layers)`);
  const shapes: Shape[] = [];
  let perSet = 0;
  for (let i = 0; i < L; i++) {
    const rows = view.getUint32(72 + 8 * i, true);
    const cols = view.getUint32(76 + 8 * i, true);
    shapes.push({ rows, cols });
    perSet += rows * cols + rows;
  }
  const moments = OPTIMIZERS[optimizer].moments;
  const setCount = 1 + moments + (hasBest ? 1 : 0);
  const width = dtype === 'float64' ? 8 : 4;
  const expected = header + width * perSet * setCount;
  if (bytes.byteLength !== expected)
    bad(op, `the bytes are ${bytes.byteLength} long but this checkpoint needs ${expected}`);
  let offset = header;
  const readSet = (prefix: string): Record<string, Matrix> => {
    const out: Record<string, Matrix> = {};
    shapes.forEach(({ rows, cols }, i) => {
      const W = zeros(rows, cols, dtype);
      const b = zeros(rows, 1, dtype);
      offset = readFloats(view, offset, W, dtype);
      offset = readFloats(view, offset, b, dtype);
      out[`${prefix}W${i + 1}`] = W;
      out[`${prefix}b${i + 1}`] = b;
    });
    return out;
  };
  const parameters = readSet('');
  const v = moments >= 1 ? readSet('d') : {};
  const s = moments >= 2 ? readSet('d') : {};
  const bestParameters = hasBest ? readSet('') : null;
  const optimizerState: OptimizerState = { optimizer, t: view.getFloat64(16, true), v, s };
  const rngState: RngState = [
    view.getUint32(24, true),
    view.getUint32(28, true),
    view.getUint32(32, true),
    view.getUint32(36, true),
  ];
  const earlyStoppingState: EarlyStoppingState | undefined = hasEs
    ? {
        bestValidationCost: view.getFloat64(48, true),
        bestIteration: view.getFloat64(56, true),
        bestParameters,
        evaluationsWithoutImprovement: view.getFloat64(64, true),
      }
    : undefined;
  return {
    startIteration: view.getFloat64(8, true),
    parameters,
    optimizerState,
    rngState,
    earlyStoppingState,
  };
}
