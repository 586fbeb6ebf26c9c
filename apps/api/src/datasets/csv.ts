/**
 * Streaming CSV reader for dataset uploads. It never holds the upload as text: csv-parse reads
 * the bytes as they arrive (linear in them, whatever the line lengths), and features go straight
 * into chunks that are stored as they fill (chunk-sink.ts), so memory stays flat whatever the
 * upload's size: one chunk, one piece of text and the labels. Every limit is checked while
 * reading, and every error names the line and the column.
 *
 * Format: a header row; comma separated; optional double quotes ("" escapes a quote); \n, \r\n or
 * \r line ends (the first one seen is the one used); a UTF-8 byte-order mark is ignored; blank
 * lines are skipped. A feature cell is a decimal number: an optional sign, digits with an
 * optional decimal point, an optional exponent (`-1.5`, `.5`, `2e-3`); nothing else (no `0x10`,
 * `Infinity` or `1_000`).
 */
import { ApiError, limitExceeded } from '@backprop/contracts';
import { CsvError, parse } from 'csv-parse';
import { ChunkSink, type StoreChunk } from './chunk-sink.ts';
import type { DatasetLimits } from './limits.ts';

export interface CsvLimits extends DatasetLimits {
  LIMIT_UPLOAD_BYTES: number;
  LIMIT_CSV_LINE_BYTES: number;
}

export interface CsvTable {
  featureNames: string[];
  labelName: string;
  labels: string[];
  samples: number;
}

/** The grammar of a feature cell (after trimming): a decimal number, nothing JavaScript adds. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The parser sees at most this many bytes at a time, so a line is measured (and refused when
 * too long) within this much of LIMIT_CSV_LINE_BYTES, however big the chunks that arrive.
 */
const SLICE_BYTES = 64 * 1024;

export async function readCsv(
  source: AsyncIterable<Uint8Array>,
  labelName: string,
  limits: CsvLimits,
  store: StoreChunk,
): Promise<CsvTable> {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const table = new TableBuilder(labelName, limits, store);
  /** Byte offset where the last line ended: the line being read is everything after it. */
  let lineStart = 0;
  const parser = parse({
    bom: true,
    relax_column_count: true,
    on_record: (record: string[], info: { lines: number; bytes: number }) => {
      table.addLine(record, info.lines);
      lineStart = info.bytes;
      return null; // consumed here: nothing is queued in the stream
    },
  });
  parser.on('error', () => undefined); // reported through the write callbacks below
  parser.resume();
  const write = (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      parser.write(bytes, (err) => (err ? reject(err) : resolve()));
    });

  let bytes = 0;
  try {
    for await (const chunk of source) {
      for (let offset = 0; offset < chunk.byteLength; offset += SLICE_BYTES) {
        const slice = chunk.subarray(offset, offset + SLICE_BYTES);
        bytes += slice.byteLength;
        if (bytes > limits.LIMIT_UPLOAD_BYTES) {
          throw limitExceeded(
            'LIMIT_UPLOAD_BYTES',
            bytes,
            limits.LIMIT_UPLOAD_BYTES,
            'the upload (bytes so far)',
            'BP_ERR_PAYLOAD_TOO_LARGE',
          );
        }
        checkUtf8(utf8, slice, true);
        await write(slice);
        await table.flush();
        if (bytes - lineStart > limits.LIMIT_CSV_LINE_BYTES) {
          throw limitExceeded(
            'LIMIT_CSV_LINE_BYTES',
            bytes - lineStart,
            limits.LIMIT_CSV_LINE_BYTES,
            `line ${table.lines + 1} of the CSV (bytes so far)`,
            'BP_ERR_PAYLOAD_TOO_LARGE',
          );
        }
      }
    }
    checkUtf8(utf8, new Uint8Array(0), false);
    await new Promise<void>((resolve, reject) => {
      parser.once('error', reject);
      parser.once('end', resolve);
      parser.end();
    });
    await table.finishValues();
  } catch (err) {
    parser.destroy();
    throw err instanceof CsvError ? fromCsvError(err) : err;
  }
  return table.finish();
}

/** A header name as quoted in a message: at most 40 characters. */
function clip(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}

function checkUtf8(decoder: InstanceType<typeof TextDecoder>, bytes: Uint8Array, stream: boolean): void {
  try {
    decoder.decode(bytes, { stream });
  } catch {
    throw new ApiError('BP_ERR_VALIDATION', 'the CSV is not valid UTF-8 text');
  }
}

/** csv-parse's refusals (quotes out of place), naming the line. */
function fromCsvError(err: CsvError): ApiError {
  const line = 'lines' in err && typeof err.lines === 'number' ? err.lines : 0;
  if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new ApiError('BP_ERR_VALIDATION', `line ${line}: a quoted value is not closed`, { line });
  }
  return new ApiError('BP_ERR_VALIDATION', `line ${line}: ${err.message}`, { line });
}

class TableBuilder {
  private header: string[] | null = null;
  private labelIndex = -1;
  private width = 0;
  /** the last line read (1-based, blank lines included) */
  lines = 0;
  private sink: ChunkSink | null = null;
  private samples = 0;
  private readonly labels: string[] = [];

  constructor(
    private readonly labelName: string,
    private readonly limits: CsvLimits,
    private readonly store: StoreChunk,
  ) {}

  /** Stores the chunks the lines read so far have filled. */
  async flush(): Promise<void> {
    await this.sink?.flush();
  }

  async finishValues(): Promise<void> {
    await this.sink?.finish();
  }

  addLine(cells: string[], line: number): void {
    this.lines = line;
    if (cells.every((cell) => cell.trim() === '')) return;
    if (this.header === null) this.setHeader(cells);
    else this.addRow(cells, line);
  }

  private setHeader(cells: string[]): void {
    const names = cells.map((c) => c.trim());
    if (names.length - 1 > this.limits.LIMIT_DATASET_COLUMNS) {
      throw limitExceeded(
        'LIMIT_DATASET_COLUMNS',
        names.length - 1,
        this.limits.LIMIT_DATASET_COLUMNS,
        'the number of feature columns',
      );
    }
    this.labelIndex = names.indexOf(this.labelName);
    if (this.labelIndex === -1) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `the CSV header has no column named "${this.labelName}" (columns: ${names.slice(0, 20).map(clip).join(', ')}${names.length > 20 ? ', ...' : ''}); choose the label column with ?label=<column>`,
        { field: 'label', line: 1 },
      );
    }
    if (names.length < 2)
      throw new ApiError(
        'BP_ERR_VALIDATION',
        'the CSV needs a label column and at least one feature column',
        { line: 1 },
      );
    const seen = new Set<string>();
    for (const [i, name] of names.entries()) {
      if (name === '')
        throw new ApiError('BP_ERR_VALIDATION', `header column ${i + 1} has no name`, {
          line: 1,
          column: i + 1,
        });
      if (seen.has(name))
        throw new ApiError('BP_ERR_VALIDATION', `header column "${name}" appears twice`, {
          line: 1,
          column: i + 1,
        });
      seen.add(name);
    }
    this.header = names;
    this.width = names.length;
    this.sink = new ChunkSink(names.length - 1, this.store);
  }

  private addRow(cells: string[], line: number): void {
    const header = this.header!;
    if (cells.length !== this.width) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `line ${line} has ${cells.length} values but the header has ${this.width} columns`,
        { line },
      );
    }
    if (this.samples + 1 > this.limits.LIMIT_DATASET_ROWS) {
      throw limitExceeded(
        'LIMIT_DATASET_ROWS',
        this.samples + 1,
        this.limits.LIMIT_DATASET_ROWS,
        'the number of rows',
      );
    }
    const features = this.width - 1;
    if ((this.samples + 1) * features > this.limits.LIMIT_DATASET_VALUES) {
      throw limitExceeded(
        'LIMIT_DATASET_VALUES',
        (this.samples + 1) * features,
        this.limits.LIMIT_DATASET_VALUES,
        'the number of feature values (rows × features)',
      );
    }
    const row = this.sink!.nextRow();
    let offset = 0;
    for (let c = 0; c < this.width; c++) {
      const cell = cells[c]!.trim();
      if (c === this.labelIndex) {
        if (cell === '')
          throw new ApiError('BP_ERR_VALIDATION', `line ${line}: the label is empty`, {
            line,
            column: header[c],
          });
        this.labels.push(cell);
        continue;
      }
      const value = DECIMAL.test(cell) ? Number(cell) : Number.NaN;
      if (!Number.isFinite(value)) {
        throw new ApiError(
          'BP_ERR_VALIDATION',
          `line ${line}, column "${header[c]}": "${cell.slice(0, 40)}" is not a finite number`,
          { line, column: header[c] },
        );
      }
      row[offset++] = value;
    }
    this.sink!.commitRow();
    this.samples++;
  }

  finish(): CsvTable {
    if (this.header === null)
      throw new ApiError('BP_ERR_VALIDATION', 'the CSV is empty: it needs a header row and data rows');
    if (this.samples === 0) throw new ApiError('BP_ERR_VALIDATION', 'the CSV has a header but no data rows');
    const featureNames = this.header.filter((_, i) => i !== this.labelIndex);
    return {
      featureNames,
      labelName: this.labelName,
      labels: this.labels,
      samples: this.samples,
    };
  }
}
