// Records streamed to one S3 object as gzip NDJSON through a multipart upload (`@aws-sdk/lib-storage`):
// memory stays at a few parts whatever the window's size, and the object exists only once `finish()`
// completes. `abort()` (or any failure) aborts the multipart upload, so no partial object is ever visible.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Transform } from 'node:stream';
import { createGzip, type Gzip } from 'node:zlib';

import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { recordLine } from './page-json';

export interface NdjsonUploadOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Multipart part size (S3 minimum 5 MiB). @default 8 MiB */
  readonly partSize?: number;
  /** Parts uploaded in parallel; memory holds about partSize x queueSize. @default 2 */
  readonly queueSize?: number;
  /** Take bytes that are already gzip ({@link NdjsonUpload.writeBytes}) instead of records. @default false */
  readonly raw?: boolean;
}

export interface UploadedObject {
  readonly key: string;
  readonly records: number;
  /** Bytes of the object (gzip). */
  readonly bytes: number;
  /** Bytes of NDJSON before compression. */
  readonly uncompressedBytes: number;
  /** SHA-256 (hex) of the object's bytes. */
  readonly sha256: string;
}

/** Lines are handed to gzip in batches of about this many characters. */
const BATCH_CHARS = 64 * 1024;

export class NdjsonUpload {
  private readonly gzip: Gzip | PassThrough;
  private readonly hash = createHash('sha256');
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;
  private failure: unknown;
  private records = 0;
  private bytes = 0;
  private uncompressedBytes = 0;

  constructor(private readonly options: NdjsonUploadOptions) {
    this.gzip = options.raw ? new PassThrough() : createGzip();
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    const body = new PassThrough();
    this.gzip.on('error', (error) => body.destroy(error));
    counter.on('error', (error) => body.destroy(error));
    this.gzip.pipe(counter).pipe(body);
    this.upload = new Upload({
      client: options.s3,
      params: {
        Bucket: options.bucket,
        Key: options.key,
        Body: body,
        // A .gz file, not a transfer encoding: readers get the stored bytes (the manifest's SHA-256).
        ContentType: 'application/gzip',
      },
      partSize: options.partSize ?? 8 * 1024 * 1024,
      queueSize: options.queueSize ?? 2,
      leavePartsOnError: false,
    });
    this.done = this.upload.done();
    // Remember a failure of the upload at once, so writers waiting for 'drain' stop instead of hanging.
    this.done.catch((error: unknown) => {
      this.failure ??= error;
      this.gzip.destroy();
    });
  }

  /**
   * Appends the records as NDJSON lines, waiting while the upload is behind (bounded memory). `exactNumbers`: the
   * records come from a page read with exact numbers (page-json.ts), written as received.
   */
  async write(records: readonly unknown[], exactNumbers = false): Promise<void> {
    let batch = '';
    for (const record of records) {
      batch += `${recordLine(record, exactNumbers)}\n`;
      if (batch.length >= BATCH_CHARS) {
        await this.push(batch);
        batch = '';
      }
    }
    if (batch) await this.push(batch);
    this.records += records.length;
  }

  /** Appends bytes as they are (raw mode: concatenating gzip objects). */
  async writeBytes(chunk: Uint8Array): Promise<void> {
    this.throwIfFailed();
    this.uncompressedBytes += chunk.byteLength;
    if (!this.gzip.write(chunk)) {
      await Promise.race([once(this.gzip, 'drain'), this.done.then(() => undefined)]);
      this.throwIfFailed();
    }
  }

  /** Ends the stream and completes the upload: the object appears now, whole. */
  async finish(): Promise<UploadedObject> {
    this.throwIfFailed();
    this.gzip.end();
    await this.done;
    return {
      key: this.options.key,
      records: this.records,
      bytes: this.bytes,
      uncompressedBytes: this.uncompressedBytes,
      sha256: this.hash.digest('hex'),
    };
  }

  /** Stops and aborts the multipart upload (no object is created); resolves once S3 was told. */
  async abort(reason: unknown = new Error('export aborted')): Promise<void> {
    this.failure ??= reason;
    this.gzip.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    await this.done.catch(() => undefined);
  }

  private async push(text: string): Promise<void> {
    this.throwIfFailed();
    this.uncompressedBytes += Buffer.byteLength(text);
    if (!this.gzip.write(text)) {
      await Promise.race([once(this.gzip, 'drain'), this.done.then(() => undefined)]);
      this.throwIfFailed();
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
