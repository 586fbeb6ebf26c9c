// A block of feature values in the narrowest little-endian type that holds every one of them
// exactly: pixels 0–255 take one byte each instead of eight. Decoding gives back the same doubles,
// bit for bit (-0 and non-integers are only ever stored as floats, NaN only as float64).

export type ValueEncoding = 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'float32' | 'float64';

interface IntegerType {
  encoding: ValueEncoding;
  min: number;
  max: number;
  bytes: number;
}

/** Narrowest first: the first type whose range holds every value is chosen. */
const INTEGER_TYPES: readonly IntegerType[] = [
  { encoding: 'uint8', min: 0, max: 0xff, bytes: 1 },
  { encoding: 'int8', min: -0x80, max: 0x7f, bytes: 1 },
  { encoding: 'uint16', min: 0, max: 0xffff, bytes: 2 },
  { encoding: 'int16', min: -0x8000, max: 0x7fff, bytes: 2 },
  { encoding: 'int32', min: -0x8000_0000, max: 0x7fff_ffff, bytes: 4 },
];

export const BYTES_PER_VALUE: Readonly<Record<ValueEncoding, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  float32: 4,
  float64: 8,
};

/** The narrowest encoding that holds every value exactly. */
export function narrowestEncoding(values: ArrayLike<number>): ValueEncoding {
  let integers = true;
  let singles = true;
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (integers && (!Number.isInteger(v) || Object.is(v, -0))) integers = false;
    if (singles && (Number.isNaN(v) || Math.fround(v) !== v)) singles = false; // NaN keeps its payload bits
    if (!integers && !singles) break;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (integers) {
    const fits = INTEGER_TYPES.find((type) => min >= type.min && max <= type.max);
    if (fits) return fits.encoding;
  }
  return singles ? 'float32' : 'float64';
}

export function encodeValues(values: ArrayLike<number>, encoding: ValueEncoding): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * BYTES_PER_VALUE[encoding]);
  const view = new DataView(bytes.buffer);
  const write = writer(view, encoding);
  for (let i = 0; i < values.length; i++) write(i, values[i]!);
  return bytes;
}

/** Decodes `bytes` into `into` starting at `offset`; returns how many values were written. */
export function decodeValues(
  bytes: Uint8Array,
  encoding: ValueEncoding,
  into: Float64Array | Float32Array,
  offset = 0,
): number {
  const size = BYTES_PER_VALUE[encoding];
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${encoding} values`);
  }
  const count = bytes.byteLength / size;
  if (offset + count > into.length) {
    throw new RangeError(`${count} ${encoding} values do not fit at offset ${offset} of ${into.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = reader(view, encoding);
  for (let i = 0; i < count; i++) into[offset + i] = read(i);
  return count;
}

function writer(view: DataView, encoding: ValueEncoding): (i: number, v: number) => void {
  switch (encoding) {
    case 'uint8':
      return (i, v) => view.setUint8(i, v);
    case 'int8':
      return (i, v) => view.setInt8(i, v);
    case 'uint16':
      return (i, v) => view.setUint16(i * 2, v, true);
    case 'int16':
      return (i, v) => view.setInt16(i * 2, v, true);
    case 'int32':
      return (i, v) => view.setInt32(i * 4, v, true);
    case 'float32':
      return (i, v) => view.setFloat32(i * 4, v, true);
    case 'float64':
      return (i, v) => view.setFloat64(i * 8, v, true);
  }
}

function reader(view: DataView, encoding: ValueEncoding): (i: number) => number {
  switch (encoding) {
    case 'uint8':
      return (i) => view.getUint8(i);
    case 'int8':
      return (i) => view.getInt8(i);
    case 'uint16':
      return (i) => view.getUint16(i * 2, true);
    case 'int16':
      return (i) => view.getInt16(i * 2, true);
    case 'int32':
      return (i) => view.getInt32(i * 4, true);
    case 'float32':
      return (i) => view.getFloat32(i * 4, true);
    case 'float64':
      return (i) => view.getFloat64(i * 8, true);
  }
}
