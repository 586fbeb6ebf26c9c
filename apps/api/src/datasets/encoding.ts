/**
 * `Content-Encoding` of dataset uploads: the course's data ships gzipped, so a gzip body is
 * decompressed as it arrives. The decompressed bytes are what LIMIT_UPLOAD_BYTES bounds, counted
 * as they come out of zlib, so a decompression bomb is refused after LIMIT_UPLOAD_BYTES of output
 * whatever its compressed size.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ApiError, limitExceeded } from '@backprop/contracts';

export const ACCEPTED_ENCODINGS = ['identity', 'gzip'] as const;

/** What Fastify reads the body from after a preParsing hook replaced it (see its "zip bomb" note). */
interface DecodedPayload extends NodeJS.ReadableStream {
  /** compressed bytes received so far: Fastify compares them with Content-Length */
  receivedEncodedLength: number;
}

/**
 * The body as the client meant it: `payload` itself without an encoding, decompressed for gzip;
 * any other encoding is a 415 naming the accepted ones.
 */
export function decodeBody(
  payload: NodeJS.ReadableStream,
  contentEncoding: string | undefined,
  maxBytes: number,
): NodeJS.ReadableStream {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return payload;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new ApiError(
      'BP_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding "${encoding.slice(0, 40)}" is not accepted; send the body as ${ACCEPTED_ENCODINGS.join(' or ')}`,
      { field: 'content-encoding', accepted: [...ACCEPTED_ENCODINGS] },
    );
  }
  const gunzip = createGunzip();
  // Nothing flows until the body's reader asks for it: an error (not gzip, a bomb) must reach a
  // reader that listens, not fire while the route's other preParsing hooks are still awaited.
  const output = new DecompressedLimit(maxBytes, () => {
    payload.on('data', (chunk: Buffer) => {
      output.receivedEncodedLength += chunk.length;
    });
    payload.on('error', (err) => output.destroy(err));
    gunzip.on('error', (err) =>
      output.destroy(
        new ApiError('BP_ERR_VALIDATION', `the body is not valid gzip: ${err.message}`, {
          field: 'content-encoding',
        }),
      ),
    );
    payload.pipe(gunzip).pipe(output);
  });
  // Whoever reads the body gets the error; once it stopped listening (the request answered), a
  // late one has nowhere to go and must not become an uncaught exception.
  output.on('error', () => undefined);
  // A refusal stops the decompression: nothing more is inflated for a body already answered.
  output.on('close', () => {
    gunzip.destroy();
  });
  return output;
}

/** Passes decompressed bytes through, refusing (413) as soon as they pass LIMIT_UPLOAD_BYTES. */
class DecompressedLimit extends Transform implements DecodedPayload {
  receivedEncodedLength = 0;
  private bytes = 0;
  private started = false;

  constructor(
    private readonly maxBytes: number,
    private readonly start: () => void,
  ) {
    super();
  }

  override _read(size: number): void {
    if (!this.started) {
      this.started = true;
      this.start();
    }
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(
        limitExceeded(
          'LIMIT_UPLOAD_BYTES',
          this.bytes,
          this.maxBytes,
          'the decompressed upload (bytes so far)',
          'BP_ERR_PAYLOAD_TOO_LARGE',
        ),
      );
      return;
    }
    callback(null, chunk);
  }
}
