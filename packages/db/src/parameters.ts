/**
 * How a model's weights sit in its `parameters` column: one little-endian Float64Array holding
 * W1, b1, W2, b2, ... in that order, each row-major in the course's layout (W[l]: (n[l], n[l-1]),
 * b[l]: (n[l], 1)). The shapes come from the model's inputSize and layers.
 */
export type NestedParameters = Record<string, number[][]>;

interface Shape {
  key: string;
  rows: number;
  cols: number;
}

function shapesOf(inputSize: number, layers: readonly { units: number }[]): Shape[] {
  const shapes: Shape[] = [];
  let nPrev = inputSize;
  layers.forEach(({ units }, i) => {
    shapes.push({ key: `W${i + 1}`, rows: units, cols: nPrev }, { key: `b${i + 1}`, rows: units, cols: 1 });
    nPrev = units;
  });
  return shapes;
}

/** Flat W1, b1, ..., WL, bL from row-major arrays keyed like the course. */
export function packParameters(
  inputSize: number,
  layers: readonly { units: number }[],
  parameters: Readonly<Record<string, ArrayLike<number>>>,
): Float64Array {
  const shapes = shapesOf(inputSize, layers);
  const flat = new Float64Array(shapes.reduce((n, s) => n + s.rows * s.cols, 0));
  let offset = 0;
  for (const { key, rows, cols } of shapes) {
    const values = parameters[key];
    if (!values || values.length !== rows * cols) {
      throw new RangeError(
        `packParameters: ${key} must hold ${rows}×${cols} values, got ${values?.length ?? 'none'}`,
      );
    }
    flat.set(values, offset);
    offset += rows * cols;
  }
  return flat;
}

/** The nested { W1: rows, b1: rows, ... } form of a flat parameter array. */
export function unpackParameters(
  inputSize: number,
  layers: readonly { units: number }[],
  flat: Float64Array,
): NestedParameters {
  const shapes = shapesOf(inputSize, layers);
  const expected = shapes.reduce((n, s) => n + s.rows * s.cols, 0);
  if (flat.length !== expected) {
    throw new RangeError(`unpackParameters: ${flat.length} values for a network of ${expected} parameters`);
  }
  const out: NestedParameters = {};
  let offset = 0;
  for (const { key, rows, cols } of shapes) {
    out[key] = Array.from({ length: rows }, (_, i) =>
      Array.from(flat.subarray(offset + i * cols, offset + (i + 1) * cols)),
    );
    offset += rows * cols;
  }
  return out;
}
