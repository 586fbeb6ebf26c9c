/**
 * The ONNX export: a standard ONNX model (IR 8, opset 13) in double precision, built with the
 * ONNX protobuf schema (onnx-proto). The graph is the prediction path, operator by operator:
 *
 *   samples (N, n[0]) raw units
 *   → Sub(offset) → Div(divisor)               normalisation: standard (mean, std) or minmax
 *                                               (min, max − min); a divisor of 0 is written as 1
 *   → Gemm(W[l], b[l], transB = 1) → g[l]      for l = 1..L: Z = A·W[l]ᵀ + b[l], W[l] (n[l], n[l−1])
 *                                               stored in the course's layout
 *   → output (N, n[L])                         Sigmoid: P(class 1); Softmax (axis 1): the class
 *                                               probabilities; linear: the values
 *
 * Hidden activations: Sigmoid, Tanh, Relu, and leaky relu as Where(Z > 0, Z, slope·Z) (ONNX's
 * LeakyRelu takes its slope as a float32 attribute, and onnxruntime runs it in float32 only).
 * The class names, feature names and task go into the model's metadata_props. One difference
 * from the service: a feature whose difference from its offset overflows a double is not taken
 * in halves (the service's guard for values near ±1.8e308).
 */
import type { Layer } from '@backprop/nn';
// onnx-proto is CommonJS: Node's ESM loader sees only its default export (a named import works
// under tsx's transform in tests, and fails under `node --import tsx`, which npm start runs).
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { describeModel, type ExportSource } from './source.ts';

const { onnx } = onnxProto;

const OPSET = 13;
const DOUBLE = onnx.TensorProto.DataType.DOUBLE;

function doubles(name: string, dims: number[], values: ArrayLike<number>): Onnx.ITensorProto {
  const bytes = Buffer.alloc(8 * values.length);
  for (let k = 0; k < values.length; k++) bytes.writeDoubleLE(values[k]!, 8 * k);
  return { name, dims, dataType: DOUBLE, rawData: bytes };
}

function node(
  opType: string,
  inputs: string[],
  output: string,
  attribute: Onnx.IAttributeProto[] = [],
): Onnx.INodeProto {
  return { opType, input: inputs, output: [output], name: output, attribute };
}

function matrixValue(name: string, cols: number): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DOUBLE,
        shape: { dim: [{ dimParam: 'N' }, { dimValue: cols }] },
      },
    },
  };
}

/** The nodes of one activation g: from Z to A. */
function activation(
  layer: Layer,
  l: number,
  Z: string,
  A: string,
): {
  nodes: Onnx.INodeProto[];
  initializers: Onnx.ITensorProto[];
} {
  switch (layer.activation) {
    case 'sigmoid':
      return { nodes: [node('Sigmoid', [Z], A)], initializers: [] };
    case 'tanh':
      return { nodes: [node('Tanh', [Z], A)], initializers: [] };
    case 'relu':
      return { nodes: [node('Relu', [Z], A)], initializers: [] };
    case 'softmax':
      return {
        nodes: [
          node('Softmax', [Z], A, [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
        ],
        initializers: [],
      };
    case 'linear':
      return { nodes: [node('Identity', [Z], A)], initializers: [] };
    case 'leaky_relu':
      return {
        nodes: [
          node('Greater', [Z, `zero${l}`], `positive${l}`),
          node('Mul', [Z, `slope${l}`], `leak${l}`),
          node('Where', [`positive${l}`, Z, `leak${l}`], A),
        ],
        initializers: [doubles(`zero${l}`, [], [0]), doubles(`slope${l}`, [], [layer.slope])],
      };
  }
}

/** Offset and divisor of each feature (x − offset) / divisor, or null for no normalisation. */
function normalisation(source: ExportSource): { offset: number[]; divisor: number[] } | null {
  const n = source.model.normalization;
  const nonZero = (d: number) => (d === 0 ? 1 : d);
  switch (n.kind) {
    case 'standard':
      return { offset: n.mean, divisor: n.std.map(nonZero) };
    case 'minmax':
      return { offset: n.min, divisor: n.max.map((max, j) => nonZero(max - n.min[j]!)) };
    case 'none':
      return null;
  }
}

export function exportOnnx(source: ExportSource): Uint8Array {
  const d = describeModel(source);
  const { network } = d;
  const nodes: Onnx.INodeProto[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  let A = 'samples';
  const scale = normalisation(source);
  if (scale) {
    const n0 = network.inputSize;
    initializers.push(doubles('offset', [n0], scale.offset), doubles('divisor', [n0], scale.divisor));
    nodes.push(node('Sub', [A, 'offset'], 'centered'), node('Div', ['centered', 'divisor'], 'A0'));
    A = 'A0';
  }
  network.layers.forEach((layer, i) => {
    const l = i + 1;
    const W = network.weights.W[l]!;
    const b = network.weights.b[l]!;
    initializers.push(doubles(`W${l}`, [W.rows, W.cols], W.data), doubles(`b${l}`, [b.rows], b.data));
    nodes.push(
      node('Gemm', [A, `W${l}`, `b${l}`], `Z${l}`, [
        { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      ]),
    );
    const out = l === network.depth ? 'output' : `A${l}`;
    const g = activation(layer, l, `Z${l}`, out);
    nodes.push(...g.nodes);
    initializers.push(...g.initializers);
    A = out;
  });
  const nL = network.layers[network.depth - 1]!.units;
  const model: Onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'backprop',
    producerVersion: '1',
    docString: `backprop model ${source.modelId}: ${d.task}; input "samples" (N, ${network.inputSize}) in raw units`,
    metadataProps: Object.entries({
      task: d.task,
      classes: JSON.stringify(d.classes),
      featureNames: JSON.stringify(d.featureNames),
      labelName: d.labelName,
      about: JSON.stringify(d.about),
    }).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'backprop',
      node: nodes,
      initializer: initializers,
      input: [matrixValue('samples', network.inputSize)],
      output: [matrixValue('output', nL)],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
