// A dataset's feature values in chunks of consecutive samples (row per sample), each in the
// narrowest type that holds its values exactly (value-encoding.ts). No read holds more than one
// chunk's bytes besides its result.
import type { DbOrTx } from './internal.ts';
import {
  BYTES_PER_VALUE,
  decodeValues,
  encodeValues,
  narrowestEncoding,
  type ValueEncoding,
} from './value-encoding.ts';

/**
 * About this many values per chunk: at most 8 MB as float64, 1 MB as bytes. Big enough that a
 * Fashion-MNIST training set is 47 rows, small enough that one is never a burden to hold.
 */
export const CHUNK_VALUES = 1 << 20;

export function samplesPerChunk(features: number, chunkValues = CHUNK_VALUES): number {
  return Math.max(1, Math.floor(chunkValues / features));
}

export interface EncodedChunk {
  index: number;
  firstSample: number;
  samples: number;
  encoding: ValueEncoding;
  values: Uint8Array<ArrayBuffer>;
}

export function encodeChunk(
  index: number,
  firstSample: number,
  values: Float64Array,
  features: number,
): EncodedChunk {
  const encoding: ValueEncoding = narrowestEncoding(values);
  return {
    index,
    firstSample,
    samples: values.length / features,
    encoding,
    values: encodeValues(values, encoding),
  };
}

/** A whole matrix (samples × features, row per sample) as chunks. */
export function encodeChunks(
  x: Float64Array,
  samples: number,
  features: number,
  chunkValues = CHUNK_VALUES,
): EncodedChunk[] {
  const per = samplesPerChunk(features, chunkValues);
  const chunks: EncodedChunk[] = [];
  for (let first = 0; first < samples; first += per) {
    const rows = Math.min(per, samples - first);
    chunks.push(
      encodeChunk(chunks.length, first, x.subarray(first * features, (first + rows) * features), features),
    );
  }
  return chunks;
}

/** One decoded chunk: `values` holds `samples` rows of the dataset's features, from `firstSample`. */
export interface DecodedChunk {
  firstSample: number;
  samples: number;
  values: Float64Array;
}

/**
 * The dataset's chunks in sample order, decoded one at a time: each is read when the previous one
 * has been consumed, so a reader holds one chunk whatever the dataset's size. With `reuse`, every
 * chunk is decoded into the same buffer (its values are valid until the next one is read), so a
 * pass over hundreds of megabytes allocates one chunk's worth.
 */
export async function* readDatasetChunks(
  db: DbOrTx,
  datasetId: string,
  options: { reuse?: boolean } = {},
): AsyncGenerator<DecodedChunk> {
  let buffer = new Float64Array(0);
  const indexes = await db.datasetChunk.findMany({
    where: { datasetId },
    select: { index: true },
    orderBy: { index: 'asc' },
  });
  for (const { index } of indexes) {
    const chunk = await db.datasetChunk.findUnique({ where: { datasetId_index: { datasetId, index } } });
    if (chunk === null) throw new Error(`chunk ${index} of dataset ${datasetId} went away while it was read`);
    const length = chunk.values.byteLength / BYTES_PER_VALUE[chunk.encoding];
    if (!options.reuse || buffer.length < length) buffer = new Float64Array(length);
    const values = buffer.subarray(0, length);
    decodeValues(chunk.values, chunk.encoding, values);
    yield { firstSample: chunk.firstSample, samples: chunk.samples, values };
  }
}

/** x (samples × features, decoded chunk by chunk into one array) and y of a dataset row. */
export async function decodeDatasetValues(
  db: DbOrTx,
  row: { id: string; samples: number; features: number; deletedAt: Date | null },
  yBytes: Uint8Array,
): Promise<{ x: Float64Array; y: Float64Array }> {
  if (row.deletedAt !== null) return { x: new Float64Array(0), y: new Float64Array(0) };
  const x = new Float64Array(row.samples * row.features);
  let filled = 0;
  for await (const chunk of readDatasetChunks(db, row.id, { reuse: true })) {
    if (chunk.firstSample * row.features !== filled) {
      throw new Error(
        `dataset ${row.id}: a chunk starts at sample ${chunk.firstSample}, expected ${filled / row.features}`,
      );
    }
    x.set(chunk.values, filled);
    filled += chunk.values.length;
  }
  if (filled !== x.length)
    throw new Error(`dataset ${row.id}: its chunks hold ${filled} of ${x.length} values`);
  const y = new Float64Array(yBytes.byteLength / 8);
  decodeValues(yBytes, 'float64', y);
  return { x, y };
}
