// Float arrays in Postgres `bytea` columns: little-endian IEEE 754 doubles, 8 bytes each.
//
// Why bytes and not Float[] or Json: Float[] rounds doubles and rejects NaN/±Infinity, Json turns
// NaN into null without an error; bytes are bit-exact (NaN payloads and -0 included) and about
// ten times faster to write (RELIABILITY.md P15).
//
// Both helpers copy: the result never shares memory with the input. That matters when reading,
// because the pg driver returns Buffers that are views into a larger pooled ArrayBuffer at some
// byteOffset (not necessarily a multiple of 8, so a Float64Array view of it may be impossible),
// and when writing, because the caller's array may change after the call.

const LITTLE_ENDIAN_HOST = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** Serialises a Float64Array as little-endian bytes (a copy; input views at any offset are fine). */
export function float64ToBytes(values: Float64Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 8);
  if (LITTLE_ENDIAN_HOST) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else {
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  }
  return bytes;
}

/**
 * Reads little-endian bytes written by float64ToBytes into a new Float64Array. Throws a RangeError
 * if the length is not a multiple of 8 (a truncated or foreign value).
 */
export function bytesToFloat64(bytes: Uint8Array): Float64Array<ArrayBuffer> {
  if (bytes.byteLength % 8 !== 0) {
    throw new RangeError(`bytesToFloat64: ${bytes.byteLength} bytes is not a whole number of float64 values`);
  }
  const values = new Float64Array(bytes.byteLength / 8);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(values.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(i * 8, true);
  }
  return values;
}
