// The export's small S3 objects (state, progress, manifests) and the moves of whole objects (copy,
// concatenate, delete). Every key is under the job's own prefix: its role may touch nothing else.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { ExportFailedError } from './export-errors';
import { NdjsonUpload, type UploadedObject } from './ndjson-upload';

function isNotFound(error: unknown): boolean {
  const shape = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return shape.name === 'NotFound' || shape.name === 'NoSuchKey' || shape.$metadata?.httpStatusCode === 404;
}

export class ExportStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** The object as JSON; undefined when there is none. Throws ExportFailedError (`invalid_state`) when it is not JSON. */
  async getJson<T>(key: string): Promise<T | undefined> {
    let text: string;
    try {
      const output = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await output.Body?.transformToString()) ?? 'null';
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ExportFailedError('invalid_state', `The bookkeeping object ${key} is not JSON: fix or delete it.`);
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
      }),
    );
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Server-side copy: the target is replaced atomically (readers see the old object or the new one). */
  async copy(from: string, to: string): Promise<void> {
    await this.s3.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: to,
        // Keys here hold only letters, digits and `/=._-`, which encodeURI leaves alone as S3 expects.
        CopySource: encodeURI(`${this.bucket}/${from}`),
        // A .gz file, not a transfer encoding: readers get the stored bytes (the manifest's SHA-256).
        ContentType: 'application/gzip',
        MetadataDirective: 'REPLACE',
      }),
    );
  }

  /**
   * Streams the segments, in order, into one new object (a multi-member gzip file, which gzip readers and
   * Athena read as one stream) and returns its size and SHA-256. Memory stays at a few upload parts.
   */
  async concatenate(segments: readonly string[], to: string, records: number): Promise<UploadedObject> {
    const upload = new NdjsonUpload({ s3: this.s3, bucket: this.bucket, key: to, raw: true });
    try {
      for (const key of segments) {
        const output = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        for await (const chunk of output.Body as AsyncIterable<Uint8Array>) await upload.writeBytes(chunk);
      }
      return { ...(await upload.finish()), records };
    } catch (error) {
      await upload.abort(error);
      throw error;
    }
  }
}
