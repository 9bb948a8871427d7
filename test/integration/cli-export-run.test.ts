// `tvm export run`: one window of a job from a deployment config, with a token from the local server, from the
// loopback upstream into s3rver or into a folder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { EXIT } from '../../cli/index';
import type { LocalService } from '../../lambdas/local/local-service';
import { startExportCliFixture, type ExportCliFixture } from '../support/export-cli-fixture';

let fixture: ExportCliFixture;
let dir: string;
let service: LocalService;
let s3: S3Client;
let s3Endpoint: string;
let configPath: string;
const key = 'exports/tenant=demo-rest/job=users/dt=2026-11-23/20261123T0900Z_20261123T1000Z.ndjson.gz';

beforeAll(async () => {
  fixture = await startExportCliFixture(() => 420);
  ({ dir, service, s3, s3Endpoint, configPath } = fixture);
});

afterAll(() => fixture.close());

const tvm = (...argv: string[]) => fixture.tvm(...argv);

const jobArgs = () => ['--config', configPath, '--job', 'users', '--endpoint', service.url];
const gunzipLines = (bytes: Uint8Array) => gunzipSync(bytes).toString('utf8').trim().split('\n');

it('writes one window into an S3 emulator, then skips it unless --replace', async () => {
  const args = ['export', 'run', ...jobArgs(), '--window', '2026-11-23T09:30Z', '--bucket', 'exports'];
  const first = await tvm(...args, '--s3-endpoint', s3Endpoint);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(EXIT.ok);
  expect(first.stdout).toContain(
    'written users (tenant demo-rest) 2026-11-23T09:00:00.000Z..2026-11-23T10:00:00.000Z: 420 records, 3 pages',
  );
  expect(first.stdout).toContain(`s3://exports/${key}`);
  const object = await s3.send(new GetObjectCommand({ Bucket: 'exports', Key: key }));
  expect(gunzipLines(await object.Body!.transformToByteArray())).toHaveLength(420);

  const again = await tvm(...args, '--s3-endpoint', s3Endpoint);
  expect(again.stdout).toMatch(/^skipped users/);
  expect(again.stdout).toContain('--replace exports it again');
  expect((await tvm(...args, '--s3-endpoint', s3Endpoint, '--replace')).stdout).toMatch(/^written users/);
});

it('writes the window and its manifest into a folder with --out', async () => {
  const out = join(dir, 'out');
  const result = await tvm('export', 'run', ...jobArgs(), '--window', '2026-11-23T09:00Z', '--out', out);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(EXIT.ok);
  expect(gunzipLines(readFileSync(join(out, key)))).toHaveLength(420);
  const manifest = JSON.parse(
    readFileSync(join(out, 'exports/tenant=demo-rest/job=users/_manifests/20261123T0900Z_20261123T1000Z.json'), 'utf8'),
  );
  expect(manifest).toMatchObject({ records: 420, key, tenant: 'demo-rest', job: 'users' });
  expect(existsSync(join(out, 'exports/tenant=demo-rest/job=users/_staging'))).toBe(false);
});

it('rejects an unknown job, a window in the future and --out with --bucket as usage errors', async () => {
  const unknown = await tvm('export', 'run', '--config', configPath, '--job', 'nope', '--out', join(dir, 'x'));
  expect(unknown.code).toBe(EXIT.usage);
  expect(unknown.stderr).toContain("has no export job 'nope' (it has: users)");
  const future = await tvm('export', 'run', ...jobArgs(), '--window', '2999-01-01', '--out', join(dir, 'y'));
  expect(future.code).toBe(EXIT.usage);
  expect(future.stderr).toContain('has not ended yet');
  const both = await tvm('export', 'run', ...jobArgs(), '--out', join(dir, 'z'), '--bucket', 'exports');
  expect(both.code).toBe(EXIT.usage);
  expect(both.stderr).toContain("cannot be used with option '--bucket <name>'");
});
