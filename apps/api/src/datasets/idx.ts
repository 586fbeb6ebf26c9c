/**
 * IDX uploads: the MNIST family's own format, as two files of one multipart/form-data request,
 * `images` (unsigned bytes, n × rows × cols) and `labels` (unsigned bytes, n), each gzipped (as
 * the datasets ship: `.gz`, recognised by its magic bytes) or not. Pixels go straight into the
 * chunk sink as they arrive, so memory stays flat; labels (one byte per sample) are kept.
 *
 * Format (http://yann.lecun.com/exdb/mnist/): 0x00 0x00, a type byte (0x08: unsigned byte, the
 * only one accepted), the number of dimensions, then each dimension as a big-endian uint32, then
 * the values in row-major order.
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ApiError, limitExceeded } from '@backprop/contracts';
import type { MultipartFile } from '@fastify/multipart';
import { ChunkSink, type StoreChunk } from './chunk-sink.ts';
import type { CsvLimits } from './csv.ts';
import { checkDatasetShape } from './limits.ts';

export interface IdxTable {
  featureNames: string[];
  labelName: string;
  labels: number[];
  samples: number;
}

const FILES = ['images', 'labels'] as const;
type IdxFile = (typeof FILES)[number];
const DIMENSIONS: Record<IdxFile, number> = { images: 3, labels: 1 };
const UNSIGNED_BYTE = 0x08;

export async function readIdx(
  files: AsyncIterable<MultipartFile>,
  limits: CsvLimits,
  store: StoreChunk,
): Promise<IdxTable> {
  try {
    return await readIdxFiles(files, limits, store);
  } catch (err) {
    throw fromMultipartError(err, limits);
  }
}

/** @fastify/multipart's own refusals (more parts than two, a file over its size), in our terms. */
function fromMultipartError(err: unknown, limits: CsvLimits): unknown {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  switch (code) {
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new ApiError(
        'BP_ERR_VALIDATION',
        'an IDX upload has two files, images and labels, and nothing else',
      );
    case 'FST_REQ_FILE_TOO_LARGE':
      return limitExceeded(
        'LIMIT_UPLOAD_BYTES',
        limits.LIMIT_UPLOAD_BYTES + 1,
        limits.LIMIT_UPLOAD_BYTES,
        'an IDX file as sent',
        'BP_ERR_PAYLOAD_TOO_LARGE',
      );
    case 'FST_MP_PREMATURE_CLOSE':
      return new ApiError('BP_ERR_VALIDATION', 'the multipart body ended before its last part did');
    default:
      // busboy's own refusals of a body that is not multipart: no boundary, a bad part header
      if (err instanceof Error && /^(multipart|malformed|unexpected end of)/i.test(err.message)) {
        return new ApiError('BP_ERR_VALIDATION', `the multipart body is malformed: ${err.message}`);
      }
      return err;
  }
}

async function readIdxFiles(
  files: AsyncIterable<MultipartFile>,
  limits: CsvLimits,
  store: StoreChunk,
): Promise<IdxTable> {
  const decoded = new DecodedBytes(limits.LIMIT_UPLOAD_BYTES);
  let images: { samples: number; features: number } | undefined;
  let labels: number[] | undefined;
  for await (const part of files) {
    const name = FILES.find((file) => file === part.fieldname);
    if (name === undefined) {
      throw new ApiError(
        'BP_ERR_VALIDATION',
        `${part.fieldname}: an IDX upload has two files, images and labels, and nothing else`,
        { field: part.fieldname },
      );
    }
    if ((name === 'images' && images) || (name === 'labels' && labels)) {
      throw new ApiError('BP_ERR_VALIDATION', `${name}: the file is sent twice`, { field: name });
    }
    const reader = new IdxReader(name, decoded.of(part.file, name));
    if (name === 'images') images = await readImages(reader, limits, store);
    else labels = await readLabels(reader, limits);
  }
  for (const [name, read] of [
    ['images', images],
    ['labels', labels],
  ] as const) {
    if (read === undefined) {
      throw new ApiError('BP_ERR_VALIDATION', `${name}: the IDX upload has no ${name} file`, { field: name });
    }
  }
  if (images!.samples !== labels!.length) {
    throw new ApiError(
      'BP_ERR_BAD_DATA',
      `labels: the labels file has ${labels!.length} labels, but the images file ${images!.samples} images`,
      { field: 'labels' },
    );
  }
  return {
    featureNames: Array.from({ length: images!.features }, (_, j) => `pixel${j + 1}`),
    labelName: 'label',
    labels: labels!,
    samples: labels!.length,
  };
}

async function readImages(
  reader: IdxReader,
  limits: CsvLimits,
  store: StoreChunk,
): Promise<{ samples: number; features: number }> {
  const [samples, rows, cols] = await reader.header();
  const features = rows! * cols!;
  checkShape(samples!, features, limits);
  const sink = new ChunkSink(features, store);
  let row = sink.nextRow();
  let column = 0;
  let read = 0;
  const expected = samples! * features;
  for await (const bytes of reader.values()) {
    if (read + bytes.length > expected)
      reader.refuse(`holds more than the ${expected} pixels its header gives`);
    for (const byte of bytes) {
      row[column++] = byte;
      if (column === features) {
        sink.commitRow();
        row = sink.nextRow();
        column = 0;
      }
    }
    read += bytes.length;
    await sink.flush();
  }
  if (read !== expected) reader.refuse(`ends after ${read} of the ${expected} pixels its header gives`);
  await sink.finish();
  return { samples: samples!, features };
}

async function readLabels(reader: IdxReader, limits: CsvLimits): Promise<number[]> {
  const [samples] = await reader.header();
  checkShape(samples!, 1, limits);
  const labels: number[] = [];
  for await (const bytes of reader.values()) {
    if (labels.length + bytes.length > samples!)
      reader.refuse(`holds more than the ${samples} labels its header gives`);
    for (const byte of bytes) labels.push(byte);
  }
  if (labels.length !== samples)
    reader.refuse(`ends after ${labels.length} of the ${samples} labels its header gives`);
  return labels;
}

function checkShape(samples: number, features: number, limits: CsvLimits): void {
  if (samples === 0) throw new ApiError('BP_ERR_VALIDATION', 'the IDX files hold no samples');
  checkDatasetShape(samples, features, limits, {
    samples: 'the number of samples',
    features: 'pixels per image',
    values: 'the number of pixel values (images × pixels)',
  });
}

/** One IDX file's bytes: its header, then its values as they arrive. */
class IdxReader {
  private readonly source: AsyncIterator<Buffer>;
  private rest: Buffer = Buffer.alloc(0);

  constructor(
    private readonly name: IdxFile,
    bytes: AsyncIterable<Buffer>,
  ) {
    this.source = bytes[Symbol.asyncIterator]();
  }

  refuse(reason: string): never {
    throw new ApiError('BP_ERR_VALIDATION', `${this.name}: the IDX file ${reason}`, { field: this.name });
  }

  /** The dimensions, after checking the magic number. */
  async header(): Promise<number[]> {
    const magic = await this.take(4);
    const dimensions = DIMENSIONS[this.name];
    if (magic[0] !== 0 || magic[1] !== 0 || magic[3] !== dimensions) {
      this.refuse(`does not start with the magic number of ${dimensions}-dimensional IDX data`);
    }
    if (magic[2] !== UNSIGNED_BYTE) {
      this.refuse(`holds values of type 0x${magic[2]!.toString(16)}; only unsigned bytes (0x08) are read`);
    }
    const sizes = await this.take(4 * dimensions);
    return Array.from({ length: dimensions }, (_, d) => sizes.readUInt32BE(4 * d));
  }

  async *values(): AsyncGenerator<Buffer> {
    if (this.rest.length > 0) yield this.rest;
    for (;;) {
      const next = await this.source.next();
      if (next.done) return;
      yield next.value;
    }
  }

  private async take(n: number): Promise<Buffer> {
    while (this.rest.length < n) {
      const next = await this.source.next();
      if (next.done) this.refuse('ends inside its header');
      this.rest = Buffer.concat([this.rest, next.value]);
    }
    const taken = this.rest.subarray(0, n);
    this.rest = this.rest.subarray(n);
    return taken;
  }
}

const asBuffer = (chunk: unknown): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk instanceof Uint8Array ? chunk : String(chunk));

/** The files' bytes, gunzipped when they are gzip, counted together against LIMIT_UPLOAD_BYTES. */
class DecodedBytes {
  private total = 0;

  constructor(private readonly max: number) {}

  async *of(file: Readable, name: IdxFile): AsyncGenerator<Buffer> {
    const chunks = file[Symbol.asyncIterator]();
    const first = await chunks.next();
    if (first.done) return;
    const head = asBuffer(first.value);
    const raw = (async function* () {
      yield head;
      for (;;) {
        const next = await chunks.next();
        if (next.done) return;
        yield asBuffer(next.value);
      }
    })();
    if (head[0] !== 0x1f || head[1] !== 0x8b) {
      yield* this.counted(raw);
      return;
    }
    const gunzip = createGunzip();
    const feed = (async () => {
      for await (const chunk of raw)
        if (!gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r));
      gunzip.end();
    })();
    feed.catch((err: unknown) => gunzip.destroy(err instanceof Error ? err : new Error(String(err))));
    try {
      yield* this.counted(gunzip);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError('BP_ERR_VALIDATION', `${name}: the file starts as gzip but does not decompress`, {
        field: name,
      });
    } finally {
      gunzip.destroy();
    }
  }

  private async *counted(bytes: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of bytes) {
      this.total += chunk.length;
      if (this.total > this.max) {
        throw limitExceeded(
          'LIMIT_UPLOAD_BYTES',
          this.total,
          this.max,
          'the IDX files, decompressed (bytes so far)',
          'BP_ERR_PAYLOAD_TOO_LARGE',
        );
      }
      yield chunk;
    }
  }
}
