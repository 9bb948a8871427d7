/**
 * The analytics export job end to end: local token server (cognito-local behind it), a local
 * GraphQL upstream that checks the `authorization` header, and S3 emulated by s3rver.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { TokenClient } from '../../client/token-client';
import { AwsJwtVerifier } from '../../lambdas/adapters/jwt-verifier';
import { exportJobSchema } from '../../lambdas/core/export-windows';
import { ExportRunner } from '../../lambdas/export/export-runner';
import { startLocalService, type LocalService } from '../../lambdas/local/local-service';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

let service: LocalService;
let s3rver: { close(): Promise<void> };
let s3: S3Client;
let upstream: Server;
let graphqlUrl: string;
const seen: Array<{ authorization: string; status: number; variables: unknown }> = [];
const revoked = new Set<string>();
let revokeNext = false;

beforeAll(async () => {
  service = await startLocalService({ port: 0 });
  const demo = service.upstreams?.tenants.demo as Record<string, string>;
  const verifier = new AwsJwtVerifier();

  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const authorization = String(req.headers.authorization ?? '');
      const { variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        variables: { from: string; to: string };
      };
      let status = 200;
      try {
        await verifier.verifyCognito('demo', authorization, {
          userPoolId: demo.userPoolId ?? '',
          clientId: demo.clientId ?? '',
          tokenUse: 'id',
          issuer: `${demo.endpoint}/${demo.userPoolId}`,
        });
        if (revokeNext) {
          revokeNext = false;
          revoked.add(authorization);
        }
        if (revoked.has(authorization)) status = 401;
      } catch {
        status = 401;
      }
      seen.push({ authorization, status, variables });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          status === 200
            ? {
                data: {
                  flights: [
                    { id: 'f-1', from: variables.from },
                    { id: 'f-2', to: variables.to },
                  ],
                },
              }
            : { message: 'Unauthorized' },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
  graphqlUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/graphql`;

  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: mkdtempSync(join(tmpdir(), 'tvm-s3-')),
    configureBuckets: [{ name: 'exports' }],
  });
  const address = await server.run();
  s3rver = server;
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${address.port}`,
    region: 'ap-southeast-2',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  await service.close();
  await s3rver.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

function runner(nowIso: string) {
  const job = exportJobSchema.parse({
    name: 'flights',
    tenant: 'demo',
    schedule: 'cron(5 * * * ? *)',
    graphqlUrl,
    query: 'query Flights($from: String!, $to: String!) { flights(from: $from, to: $to) { id } }',
  });
  const tokens = new TokenClient({
    endpoint: service.url,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return { job, runner: new ExportRunner({ tokens, s3, bucket: 'exports', clock: { now: () => Date.parse(nowIso) } }) };
}

async function keys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'exports' }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}

it('writes the window under the expected key with the upstream data, and a manifest', async () => {
  const { job, runner: run } = runner('2026-11-23T10:05:00Z');
  const results = await run.run(job);
  expect(results).toEqual([
    {
      key: 'exports/demo/flights/2026/11/23/20261123T0900Z_20261123T1000Z.json',
      outcome: 'written',
      bytes: expect.any(Number),
    },
  ]);
  const object = await s3.send(new GetObjectCommand({ Bucket: 'exports', Key: results[0]?.key }));
  const body = JSON.parse((await object.Body?.transformToString()) ?? '{}');
  expect(body).toEqual({
    tenant: 'demo',
    job: 'flights',
    window: { from: '2026-11-23T09:00:00.000Z', to: '2026-11-23T10:00:00.000Z' },
    data: {
      flights: [
        { id: 'f-1', from: '2026-11-23T09:00:00.000Z' },
        { id: 'f-2', to: '2026-11-23T10:00:00.000Z' },
      ],
    },
  });
  expect(await keys()).toEqual([
    'exports/demo/flights/2026/11/23/20261123T0900Z_20261123T1000Z.json',
    'exports/demo/flights/2026/11/23/20261123T0900Z_20261123T1000Z.manifest.json',
    'exports/demo/flights/_state.json',
  ]);
  expect(seen.at(-1)?.status).toBe(200);
});

it('writes nothing new when the same window runs again', async () => {
  const before = seen.length;
  const { job, runner: run } = runner('2026-11-23T10:40:00Z');
  expect(await run.run(job)).toEqual([]);

  // Even with the progress marker gone, an exported window is skipped, not fetched or rewritten.
  await s3.send(
    new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({
      Bucket: 'exports',
      Key: 'exports/demo/flights/_state.json',
    }),
  );
  const again = await run.run(job);
  expect(again).toEqual([
    { key: 'exports/demo/flights/2026/11/23/20261123T0900Z_20261123T1000Z.json', outcome: 'skipped' },
  ]);
  expect(seen.length).toBe(before);
});

it('an upstream 401 leads to one token renewal and a successful retry', async () => {
  const refreshesBefore = service.upstreams?.cognito.authFlows.get('REFRESH_TOKEN_AUTH') ?? 0;
  revokeNext = true;
  const before = seen.length;
  const { job, runner: run } = runner('2026-11-23T11:05:00Z');
  const results = await run.run(job);
  expect(results.map((r) => r.outcome)).toEqual(['written']);
  const attempts = seen.slice(before);
  expect(attempts.map((a) => a.status)).toEqual([401, 200]);
  expect(attempts[1]?.authorization).not.toBe(attempts[0]?.authorization);
  expect(service.upstreams?.cognito.authFlows.get('REFRESH_TOKEN_AUTH')).toBe(refreshesBefore + 1);
});
