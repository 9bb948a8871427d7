// `tvm export run --out <folder>`: an in-process S3 emulator (s3rver, a development dependency) for the runner to
// write to, whose objects are then copied into the folder as plain files.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';

import { GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';

import { UsageError } from './errors';

export const LOCAL_BUCKET = 'tvm-export';

export interface LocalS3 {
  readonly client: S3Client;
  /** Copy every object under `prefix` into `folder/<key>`; returns the files written. */
  download(prefix: string, folder: string): Promise<string[]>;
  close(): Promise<void>;
}

interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export async function startLocalS3(): Promise<LocalS3> {
  let S3rver: new (options: Record<string, unknown>) => S3rverServer;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    S3rver = require('s3rver') as typeof S3rver;
  } catch {
    throw new UsageError(
      '--out needs s3rver, a development dependency: run tvm from a clone of the repository (npm install), or install it (npm install --save-dev s3rver), or pass --s3-endpoint / --bucket.',
    );
  }
  const directory = mkdtempSync(join(tmpdir(), 'tvm-export-s3-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: LOCAL_BUCKET }],
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${address.port}`,
    region: 'local',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    client,
    async download(prefix, folder) {
      const root = resolve(folder);
      const written: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: LOCAL_BUCKET, Prefix: prefix })) {
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          const path = resolve(root, object.Key);
          if (!path.startsWith(root + sep)) continue; // never outside the folder
          const answer = await client.send(new GetObjectCommand({ Bucket: LOCAL_BUCKET, Key: object.Key }));
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, await answer.Body!.transformToByteArray());
          written.push(path);
        }
      }
      return written;
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
