// The AWS SDK as the functions deploy it: lib/sdk-compaction.ts rewrites the clients' error classes and schemas in
// every bundle. Here one call per client that ends in a modeled error, and the S3 calls of the export function
// (test/support/sdk-errors-probe.ts), run against the emulators twice, on the SDK as installed and bundled with the
// functions' settings in a fresh Node.js process, and both must see the same: for the errors, the same class by
// `instanceof`, name, fault, HTTP status, message and modeled fields (the item a failed conditional write returns,
// which the lease code reads); for S3, the same objects, headers and metadata.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build } from 'esbuild';

import { startCognitoEmulator, type CognitoEmulator } from '../../lambdas/local/cognito-emulator';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { seedCognitoTenant } from '../../lambdas/local/seed-cognito';
import { BUNDLE_SETTINGS, esbuildOptions } from '../../lib/bundle-settings';
import { startKms, startSecretsManager, type Emulator } from '../support/aws-json-emulators';
import { startS3rver } from '../support/s3rver';
import { probeS3Calls, probeSdkErrors, type ProbedError, type ProbeEndpoints } from '../support/sdk-errors-probe';

const RUNNER = `
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const { probeSdkErrors, probeS3Calls } = await import(pathToFileURL(process.env.BUNDLE).href);
const endpoints = JSON.parse(process.env.ENDPOINTS);
writeFileSync(process.env.OUT, JSON.stringify({ errors: await probeSdkErrors(endpoints), s3: await probeS3Calls(endpoints) }));
`;

let dir: string;
let cognito: CognitoEmulator;
let dynamo: LocalDynamo;
let kms: Emulator;
let secretsManager: Emulator;
let s3: { close(): Promise<void> };
let conditionFailed: Server;

/** The item DynamoDB returns with a failed conditional write (binary and nested values, as the session items have). */
const OLD_ITEM = {
  pk: { S: 'lease#acme' },
  holder: { S: 'another container' },
  until: { N: '1764000000' },
  sealed: { B: Buffer.from('sealed bytes').toString('base64') },
  tags: { M: { a: { L: [{ S: 'x' }, { BOOL: true }, { NULL: true }] } } },
};
let endpoints: ProbeEndpoints;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-sdk-compaction-'));
  cognito = await startCognitoEmulator();
  const tenant = await seedCognitoTenant(cognito.endpoint, { poolName: 'probe', username: 'probe@example.com' });
  dynamo = await startLocalDynamo('tvm-probe');
  kms = await startKms();
  secretsManager = await startSecretsManager({});
  const s3rver = await startS3rver(['probe']);
  // DynamoDB's answer to a conditional write that failed (AWS JSON 1.0, as the service sends it).
  conditionFailed = createServer((request, response) => {
    request.resume().once('end', () => {
      response.writeHead(400, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': 'probe-request',
      });
      response.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
          message: 'The conditional request failed',
          Item: OLD_ITEM,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => conditionFailed.listen(0, '127.0.0.1', resolve));
  s3 = s3rver;
  endpoints = {
    dynamodb: dynamo.endpoint,
    dynamodbConditionFailed: `http://127.0.0.1:${(conditionFailed.address() as AddressInfo).port}`,
    tableName: dynamo.tableName,
    kms: kms.endpoint,
    secretsManager: secretsManager.endpoint,
    cognito: cognito.endpoint,
    cognitoClientId: tenant.clientId,
    cognitoUsername: tenant.username,
    s3: s3rver.endpoint,
    bucket: 'probe',
  };
}, 120_000);

afterAll(async () => {
  conditionFailed?.close();
  await Promise.all([cognito?.close(), dynamo?.close(), kms?.close(), secretsManager?.close(), s3?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** The probe bundled as the functions are (the export function's settings: its S3 client needs event streams). */
async function bundledProbe(): Promise<{ errors: ProbedError[]; s3: Record<string, unknown> }> {
  const outdir = join(dir, 'probe');
  await build({
    ...esbuildOptions('export', outdir),
    entryPoints: { index: join(__dirname, '..', 'support', 'sdk-errors-probe.ts') },
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'runner.mjs'), RUNNER);
  const out = join(dir, 'out.json');
  const env = {
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    BUNDLE: join(outdir, BUNDLE_SETTINGS.outputFile),
    ENDPOINTS: JSON.stringify(endpoints),
    OUT: out,
  };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'runner.mjs')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(stderr.slice(0, 2000)))));
  });
  return JSON.parse(readFileSync(out, 'utf8')) as { errors: ProbedError[]; s3: Record<string, unknown> };
}

describe('the AWS SDK clients compacted as the functions bundle them', () => {
  it('give the errors the SDK as installed gives (class, name, fault, status, message, fields), and S3 the same answers', async () => {
    const installed = await probeSdkErrors(endpoints);
    // Each call failed as intended, with the client's modeled class.
    expect(installed.map((error) => [error.call, error.name, error.isModeledClass])).toEqual(
      installed.map((error) => [error.call, error.name, true]),
    );
    // The modeled field, deserialised: binary values as bytes (JSON below: an object of byte values).
    const returned = installed.find((error) => error.call.endsWith('as DynamoDB answers'))?.fields.Item as Record<
      string,
      Record<string, unknown>
    >;
    expect(returned).toMatchObject({ ...OLD_ITEM, sealed: {} });
    expect(Buffer.from(returned.sealed?.B as Uint8Array).toString()).toBe('sealed bytes');
    // The item's key differs between the runs (each probe writes its own).
    const comparable = (errors: ProbedError[]) =>
      JSON.parse(JSON.stringify(errors).replace(/probe-[\d.-]+/g, 'probe-key')) as ProbedError[];
    const bundled = await bundledProbe();
    expect(comparable(bundled.errors)).toEqual(comparable(installed));
    // The export function's S3 calls, whose schemas lost their unused shapes and had their header bindings rewritten.
    const s3Calls = await probeS3Calls(endpoints);
    expect(s3Calls).toMatchObject({
      put: { ContentType: 'application/x-ndjson', ContentLength: 8, Metadata: { tenant: 'acme', records: '1' } },
      multipart: { ContentType: 'application/gzip', ContentLength: 5 * 1024 * 1024 + 1 },
      copy: { ContentType: 'application/x-ndjson', body: '{"a":1}\n' },
      deleted: 'NotFound',
    });
    expect(bundled.s3).toEqual(s3Calls);
  }, 120_000);
});
