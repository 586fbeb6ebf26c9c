/**
 * A model export (the service's JSON export format): written and read back, the network's
 * parameters are bit-identical (−0 and subnormals included) and the description around them
 * (task, classes, features, normalisation) is the same; wrong documents are refused with a reason.
 */
import { describe, expect, it } from 'vitest';
import {
  type ModelExport,
  Network,
  NnInputError,
  readModelExport,
  serialize,
  writeModelExport,
} from '../src/index.ts';
import { dense, parameterBits } from './networks.ts';

const layers = dense([3, 'leaky_relu', 0.05], [3, 'softmax']);

function model(): ModelExport {
  const network = Network.create({ inputSize: 2, layers, seed: 7 });
  network.weights.W[1]!.data[0] = -0;
  network.weights.W[1]!.data[1] = 5e-324;
  network.weights.b[2]!.data[2] = 0.1 + 0.2;
  return {
    network,
    task: 'multiclass',
    classes: ['cat', 'dog', 7],
    featureNames: ['height', 'weight'],
    labelName: 'species',
    normalization: { kind: 'standard', mean: [1.5, -2], std: [0.25, 0] },
    about: { modelId: 'm1' },
  };
}

describe('model export', () => {
  it('round-trips: bit-identical parameters, the same description', () => {
    const original = model();
    const text = writeModelExport(original);
    const back = readModelExport(text);
    expect(parameterBits(back.network)).toEqual(parameterBits(original.network));
    expect(Object.is(back.network.weights.W[1]!.data[0], -0)).toBe(true);
    expect(back.network.layers).toEqual(original.network.layers);
    const { network: _n, ...rest } = back;
    const { network: _o, ...expected } = original;
    expect(rest).toEqual(expected);
    expect(writeModelExport(back)).toBe(text);
  });

  it('is versioned JSON whose network is the network format, in the course layout', () => {
    const doc = JSON.parse(writeModelExport(model()));
    expect(doc).toMatchObject({ format: 'backprop-model', version: 1, task: 'multiclass' });
    expect(doc.network.format).toBe('backprop-nn');
    expect(doc.network.parameters.W1).toHaveLength(3); // W1: (n[1], n[0]) = (3, 2)
    expect(doc.network.parameters.W1[0]).toHaveLength(2);
    expect(JSON.stringify(doc.network)).toBe(JSON.stringify(JSON.parse(serialize(model().network))));
  });

  it('refuses other documents with the reason', () => {
    const doc = JSON.parse(writeModelExport(model()));
    const refused = (change: (d: Record<string, unknown>) => void, message: RegExp) => {
      const d = structuredClone(doc);
      change(d);
      expect(() => readModelExport(JSON.stringify(d))).toThrow(NnInputError);
      expect(() => readModelExport(JSON.stringify(d))).toThrow(message);
    };
    refused((d) => {
      d['format'] = 'backprop-nn';
    }, /format is "backprop-nn", expected "backprop-model"/);
    refused((d) => {
      d['version'] = 2;
    }, /version 2 is not supported/);
    refused((d) => {
      d['featureNames'] = ['only one'];
    }, /featureNames must be 2 strings/);
    refused((d) => {
      d['normalization'] = { kind: 'standard', mean: [0] };
    }, /normalization must be/);
    refused((d) => {
      d['task'] = 'ranking';
    }, /task is "ranking"/);
    expect(() => readModelExport('{')).toThrow(/not valid JSON/);
  });
});
