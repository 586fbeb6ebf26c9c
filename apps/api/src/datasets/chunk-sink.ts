/**
 * Where an upload's feature values go as they are read: rows fill a chunk of samplesPerChunk
 * samples, and each full chunk is encoded (in its narrowest lossless type) and handed to `store`,
 * which writes it to Postgres. The reader awaits `flush()` between the pieces it reads, so at most
 * one chunk and one piece of the upload are in memory, whatever the dataset's size.
 */
import { type EncodedChunk, encodeChunk, samplesPerChunk } from '@backprop/db';

export type StoreChunk = (chunk: EncodedChunk) => Promise<void>;

export class ChunkSink {
  private readonly rows: Float64Array;
  private filledRows = 0;
  private firstSample = 0;
  private index = 0;
  private readonly pending: EncodedChunk[] = [];

  constructor(
    readonly features: number,
    private readonly store: StoreChunk,
  ) {
    this.rows = new Float64Array(samplesPerChunk(features) * features);
  }

  /** The next sample's values, to be written in place before `commitRow()`. */
  nextRow(): Float64Array {
    const start = this.filledRows * this.features;
    return this.rows.subarray(start, start + this.features);
  }

  commitRow(): void {
    this.filledRows++;
    if (this.filledRows * this.features === this.rows.length) this.seal();
  }

  /** Appends a whole matrix (samples × features, row per sample), one chunk at a time. */
  async addMatrix(x: Float64Array, samples: number): Promise<void> {
    for (let i = 0; i < samples; i++) {
      this.nextRow().set(x.subarray(i * this.features, (i + 1) * this.features));
      this.commitRow();
      if (this.pending.length > 0) await this.flush();
    }
  }

  /** Stores the chunks filled so far. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) await this.store(this.pending.shift()!);
  }

  /** Stores everything, the last partial chunk included. */
  async finish(): Promise<void> {
    if (this.filledRows > 0) this.seal();
    await this.flush();
  }

  private seal(): void {
    const values = this.rows.subarray(0, this.filledRows * this.features);
    this.pending.push(encodeChunk(this.index++, this.firstSample, values, this.features));
    this.firstSample += this.filledRows;
    this.filledRows = 0;
  }
}
