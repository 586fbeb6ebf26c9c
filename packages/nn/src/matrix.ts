/**
 * Dense matrices as flat, row-major typed arrays.
 *
 * Every tensor in the network is a matrix: W[l] is (n[l], n[l-1]), b[l] is (n[l], 1), and
 * activations A[l] are (n[l], m) with one column per sample, as in the course. Element (i, j)
 * lives at data[i * cols + j].
 */
export type DType = 'float64' | 'float32';
export type FloatArray = Float64Array | Float32Array;

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: FloatArray;
}

export function zeros(rows: number, cols: number, dtype: DType = 'float64'): Matrix {
  const data = dtype === 'float64' ? new Float64Array(rows * cols) : new Float32Array(rows * cols);
  return { rows, cols, data };
}

export function dtypeOf(m: Matrix): DType {
  return m.data instanceof Float32Array ? 'float32' : 'float64';
}
