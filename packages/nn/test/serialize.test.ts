/**
 * Saving and loading: the JSON and binary forms round-trip bit-exactly, including −0, subnormals
 * and values near the largest double; bad documents are refused with a reason.
 */
import { describe, expect, it } from 'vitest';
import {
  deserialize,
  FORMAT_VERSION,
  Network,
  NnInputError,
  serialize,
  serializeBinary,
} from '../src/index.ts';
import { dense, parameterBits } from './networks.ts';

const layers = dense([3, 'leaky_relu', 0.05], [2, 'tanh'], [3, 'softmax']);

/** A network whose parameters hold the awkward values: −0, subnormals, ±1e308, 0.1 + 0.2, ... */
function awkward(dtype: 'float64' | 'float32' = 'float64'): Network {
  const net = Network.create({ inputSize: 4, layers, seed: 3, dtype });
  const special =
    dtype === 'float64'
      ? [
          -0,
          5e-324,
          -2.2250738585072014e-308,
          1e308,
          -1.7976931348623157e308,
          0.1 + 0.2,
          1 / 3,
          123456789.123,
        ]
      : [-0, 1e-45, -1.1754942e-38, 3.4e38, -3.4028234663852886e38, 0.1, 1 / 3, 16777217].map(Math.fround);
  const W1 = net.weights.W[1]!.data;
  special.forEach((v, k) => {
    W1[k] = v;
  });
  net.weights.b[2]!.data[1] = -0;
  return net;
}

describe('JSON form', () => {
  it('round-trips bit-exactly, −0 and subnormals included', () => {
    const net = awkward();
    const text = serialize(net);
    const back = deserialize(text);
    expect(parameterBits(back)).toEqual(parameterBits(net));
    expect(Object.is(back.weights.W[1]!.data[0], -0)).toBe(true);
    expect(back.weights.W[1]!.data[1]).toBe(5e-324);
    expect(back.weights.W[1]!.data[3]).toBe(1e308);
    expect(back.layers).toEqual(net.layers);
    expect(serialize(back)).toBe(text);
  });

  it('is versioned, readable JSON in the course layout', () => {
    const doc = JSON.parse(serialize(awkward()));
    expect(doc.format).toBe('backprop-nn');
    expect(doc.version).toBe(FORMAT_VERSION);
    expect(doc.dtype).toBe('float64');
    expect(doc.inputSize).toBe(4);
    expect(doc.layers).toEqual(layers);
    expect(Object.keys(doc.parameters)).toEqual(['W1', 'b1', 'W2', 'b2', 'W3', 'b3']);
    expect(doc.parameters.W1).toHaveLength(3);
    expect(doc.parameters.W1[0]).toHaveLength(4);
    expect(doc.parameters.b1).toEqual([[0], [0], [0]]);
  });

  it('float32 networks round-trip too', () => {
    const net = awkward('float32');
    const back = deserialize(serialize(net));
    expect(back.dtype).toBe('float32');
    expect(parameterBits(back)).toEqual(parameterBits(net));
    expect(back.weights.W[1]!.data[1]).toBe(Math.fround(1e-45)); // the smallest float32 subnormal
  });

  it('refuses non-finite weights and unknown documents', () => {
    const net = awkward();
    net.weights.W[2]!.data[0] = Number.NaN;
    expect(() => serialize(net)).toThrow(/W2\[0\]\[0\] is NaN, which JSON cannot carry/);
    expect(() => deserialize('{"format":"other"}')).toThrow(NnInputError);
    expect(() => deserialize('{"format":"backprop-nn","version":99}')).toThrow(/version 99 is not supported/);
    expect(() => deserialize('not json')).toThrow(/not valid JSON/);
  });
});

describe('binary form', () => {
  it('round-trips bit-exactly, small header + little-endian float64', () => {
    const net = awkward();
    const bytes = serializeBinary(net);
    expect(bytes).toBeInstanceOf(Uint8Array);
    const count = 3 * 4 + 3 + 2 * 3 + 2 + 3 * 2 + 3;
    expect(bytes.byteLength).toBe(16 + 16 * 3 + 8 * count);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('BPNN');
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getFloat64(16 + 16 * 3 + 8 * 3, true)).toBe(1e308); // W1[0][3], little-endian
    const back = deserialize(bytes);
    expect(parameterBits(back)).toEqual(parameterBits(net));
    expect(back.layers).toEqual(net.layers);
    expect(Object.is(back.weights.b[2]!.data[1], -0)).toBe(true);
  });

  it('float32 stores 4 bytes per value', () => {
    const net = awkward('float32');
    const bytes = serializeBinary(net);
    expect(bytes.byteLength).toBe(16 + 16 * 3 + 4 * (12 + 3 + 6 + 2 + 6 + 3));
    const back = deserialize(bytes);
    expect(back.dtype).toBe('float32');
    expect(parameterBits(back)).toEqual(parameterBits(net));
  });

  it('reads from a view into a larger buffer', () => {
    const net = awkward();
    const bytes = serializeBinary(net);
    const padded = new Uint8Array(bytes.byteLength + 11);
    padded.set(bytes, 3);
    expect(parameterBits(deserialize(padded.subarray(3, 3 + bytes.byteLength)))).toEqual(parameterBits(net));
  });

  it('refuses truncated or foreign bytes', () => {
    const bytes = serializeBinary(awkward());
    expect(() => deserialize(bytes.subarray(0, bytes.byteLength - 8))).toThrow(
      /bytes are \d+ long but this network needs \d+/,
    );
    expect(() => deserialize(new Uint8Array(32))).toThrow(/not a backprop network/);
  });

  it('predictions are identical before and after either round trip', () => {
    const net = Network.create({ inputSize: 4, layers, seed: 8 });
    const X = [
      [0.1, -2, 3],
      [1, 0.5, -1],
      [0, 0, 1e-3],
      [4, -4, 2],
    ];
    const out = net.forward(X);
    expect(deserialize(serialize(net)).forward(X)).toEqual(out);
    expect(deserialize(serializeBinary(net)).forward(X)).toEqual(out);
  });
});
