/**
 * Streaming CSV reader for dataset uploads. It never holds the upload as text: lines are parsed
 * as bytes arrive and features go straight into a growing Float64Array, so memory stays near
 * 8 bytes per value. Every limit is checked while reading, and every error names the line and
 * the column.
 *
 * Format: a header row; comma separated; optional double quotes ("" escapes a quote) within a
 * line; \n or \r\n line ends; a UTF-8 byte-order mark is ignored; blank lines are skipped.
 */
import { ApiError, limitExceeded } from '@backprop/contracts';

export interface CsvLimits {
  LIMIT_UPLOAD_BYTES: number;
  LIMIT_DATASET_ROWS: number;
  LIMIT_DATASET_COLUMNS: number;
  LIMIT_DATASET_VALUES: number;
}

export interface CsvTable {
  featureNames: string[];
  labelName: string;
  /** samples × features, row per sample. */
  x: Float64Array;
  labels: string[];
  samples: number;
}

export async function readCsv(
  source: AsyncIterable<Uint8Array | string>,
  labelName: string,
  limits: CsvLimits,
): Promise<CsvTable> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const table = new TableBuilder(labelName, limits);
  let bytes = 0;
  let pending = '';
  for await (const chunk of source) {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (bytes > limits.LIMIT_UPLOAD_BYTES) {
      throw limitExceeded(
        'LIMIT_UPLOAD_BYTES',
        bytes,
        limits.LIMIT_UPLOAD_BYTES,
        'the upload (bytes so far)',
        'BP_ERR_PAYLOAD_TOO_LARGE',
      );
    }
    pending += typeof chunk === 'string' ? chunk : decodeChunk(decoder, chunk, true);
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
      table.addLine(pending.slice(start, nl));
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += decodeChunk(decoder, new Uint8Array(0), false);
  table.addLine(pending);
  return table.finish();
}

function decodeChunk(decoder: InstanceType<typeof TextDecoder>, chunk: Uint8Array, stream: boolean): string {
  try {
    return decoder.decode(chunk, { stream });
  } catch {
    throw new ApiError('BP_ERR_VALIDATION', 'the CSV is not valid UTF-8 text');
  }
}

class TableBuilder {
  private header: string[] | null = null;
  private labelIndex = -1;
  private width = 0;
  private line = 0;
  private x = new Float64Array(0);
  private samples = 0;
  private readonly labels: string[] = [];

  constructor(
    private readonly labelName: string,
    private readonly limits: CsvLimits,
  ) {}

  addLine(raw: string): void {
    this.line++;
    const text = (this.line === 1 ? raw.replace(/^\uFEFF/, '') : raw).replace(/\r$/, '');
    if (text.trim() === '') return;
    const cells = splitCsvLine(text, this.line);
    if (this.header === null) this.setHeader(cells);
    else this.addRow(cells);
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
        `the CSV header has no column named "${this.labelName}" (columns: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}); choose the label column with ?label=<column>`,
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
  }

  private addRow(cells: string[]): void {
    const header = this.header!;
    if (cells.length !== this.width) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `line ${this.line} has ${cells.length} values but the header has ${this.width} columns`,
        { line: this.line },
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
    this.reserve((this.samples + 1) * features);
    let offset = this.samples * features;
    for (let c = 0; c < this.width; c++) {
      const cell = cells[c]!.trim();
      if (c === this.labelIndex) {
        if (cell === '')
          throw new ApiError('BP_ERR_VALIDATION', `line ${this.line}: the label is empty`, {
            line: this.line,
            column: header[c],
          });
        this.labels.push(cell);
        continue;
      }
      const value = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(value)) {
        throw new ApiError(
          'BP_ERR_VALIDATION',
          `line ${this.line}, column "${header[c]}": "${cell.slice(0, 40)}" is not a finite number`,
          { line: this.line, column: header[c] },
        );
      }
      this.x[offset++] = value;
    }
    this.samples++;
  }

  private reserve(size: number): void {
    if (size <= this.x.length) return;
    const grown = new Float64Array(Math.max(size, this.x.length * 2, 1024));
    grown.set(this.x);
    this.x = grown;
  }

  finish(): CsvTable {
    if (this.header === null)
      throw new ApiError('BP_ERR_VALIDATION', 'the CSV is empty: it needs a header row and data rows');
    if (this.samples === 0) throw new ApiError('BP_ERR_VALIDATION', 'the CSV has a header but no data rows');
    const featureNames = this.header.filter((_, i) => i !== this.labelIndex);
    return {
      featureNames,
      labelName: this.labelName,
      x: this.x.slice(0, this.samples * featureNames.length),
      labels: this.labels,
      samples: this.samples,
    };
  }
}

/** Splits one CSV line into cells, honouring double quotes. */
export function splitCsvLine(line: string, lineNumber: number): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  if (quoted)
    throw new ApiError('BP_ERR_VALIDATION', `line ${lineNumber}: a quoted value is not closed`, {
      line: lineNumber,
    });
  cells.push(cell);
  return cells;
}
