// The vend function as it is deployed: its bundle built with lib/bundle-settings.ts (the tree-shaken SDK, and the
// aliases that replace the credential chain and the SDK's event-stream module, the sign-in code in a chunk of its
// own), loaded by `import()` as Lambda's runtime loads `index.mjs`, in fresh Node.js processes (one per Lambda
// container) with the environment the stack sets, against dynalite, cognito-local and the
// loopback Secrets Manager and KMS. Everything else tests the TypeScript sources; this is the one test of the
// artefact itself, so an alias or bundling setting that breaks a code path fails here, not in a deployed function.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build } from 'esbuild';

import { DEFAULT_SECRET_PREFIX, ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/names';
import { startCognitoEmulator, type CognitoEmulator } from '../../lambdas/local/cognito-emulator';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { seedCognitoTenant } from '../../lambdas/local/seed-cognito';
import { BUNDLE_SETTINGS, esbuildOptions } from '../../lib/bundle-settings';
import { startKms, startSecretsManager, type Emulator } from '../support/aws-json-emulators';
import { tokenRouteEvent } from '../support/events';

const CALLER = 'arn:aws:iam::123456789012:role/reporting';
const KEY_ID = 'alias/tvm-cache';

/** Loads the bundle as Lambda's runtime client does and answers each event of BUNDLE_EVENTS in turn. */
const CONTAINER = `
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const { handler } = await import(pathToFileURL(process.env.BUNDLE).href);
(async () => {
  const answers = [];
  for (const event of JSON.parse(process.env.BUNDLE_EVENTS)) {
    const context = { awsRequestId: 'req-' + answers.length, functionName: 'tvm-vend', functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:tvm-vend', memoryLimitInMB: '512',
      getRemainingTimeInMillis: () => 10000 };
    answers.push(await handler(event, context));
  }
  writeFileSync(process.env.BUNDLE_OUT, JSON.stringify(answers));
})().catch((error) => { console.error(error); process.exit(1); });
`;

interface Answer {
  readonly statusCode: number;
  readonly body: string;
}

let dir: string;
let bundle: string;
let cognito: CognitoEmulator;
let dynamo: LocalDynamo;
let kms: Emulator;
let secretsManager: Emulator;
let password: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-deployed-bundle-'));
  bundle = join(dir, 'vend', BUNDLE_SETTINGS.outputFile);
  await build({ ...esbuildOptions('vend', join(dir, 'vend')), logLevel: 'silent' });
  writeFileSync(join(dir, 'container.mjs'), CONTAINER);
  cognito = await startCognitoEmulator();
  const tenant = await seedCognitoTenant(cognito.endpoint, { poolName: 'bundle', username: 'ops@example.com' });
  password = tenant.password;
  dynamo = await startLocalDynamo('tvm-bundle-test');
  kms = await startKms();
  secretsManager = await startSecretsManager({ [`${DEFAULT_SECRET_PREFIX}/acme`]: tenant.secret });
}, 120_000);

afterAll(async () => {
  await Promise.all([cognito?.close(), dynamo?.close(), kms?.close(), secretsManager?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** One Lambda container: a fresh process running the events in order; its answers, and what it wrote to stdout. */
function container(events: unknown[]): Promise<{ answers: Answer[]; stdout: string }> {
  const out = join(dir, `answers-${Math.random().toString(36).slice(2)}.json`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'ap-southeast-2',
    AWS_LAMBDA_FUNCTION_NAME: 'tvm-vend',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_ACCESS_KEY_ID: 'ASIATEST',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
    [ENV.powertoolsServiceName]: SERVICE_NAME,
    [ENV.powertoolsMetricsNamespace]: METRICS_NAMESPACE,
    [ENV.consumers]: JSON.stringify([{ principal: CALLER, tenants: ['acme'] }]),
    [ENV.cacheTable]: dynamo.tableName,
    [ENV.cacheKeyId]: KEY_ID,
    BUNDLE: bundle,
    BUNDLE_EVENTS: JSON.stringify(events),
    BUNDLE_OUT: out,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'container.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`container exited with ${code}: ${stderr.slice(0, 2000)}`));
      resolve({ answers: JSON.parse(readFileSync(out, 'utf8')) as Answer[], stdout });
    });
  });
}

const bodyOf = (answer: Answer) => JSON.parse(answer.body) as Record<string, unknown>;

describe('the deployed vend bundle', () => {
  it('signs in on a miss, serves the next request from memory, and a second container from the shared table', async () => {
    cognito.resetCounts();
    const first = await container([
      tokenRouteEvent('acme', { caller: CALLER }),
      tokenRouteEvent('acme', { caller: CALLER }),
      tokenRouteEvent('globex', { caller: CALLER }),
    ]);
    const [miss, hit, unknown] = first.answers;
    expect(miss?.statusCode).toBe(200);
    const token = bodyOf(miss as Answer);
    expect(token).toMatchObject({ tenantId: 'acme', provider: 'cognito' });
    expect(String(token.idToken).split('.')).toHaveLength(3);
    expect(bodyOf(hit as Answer).idToken).toBe(token.idToken);
    // Not in the caller's policy (and not a tenant at all): the same answer either way, with its stable code.
    expect(unknown?.statusCode).toBe(403);
    expect(bodyOf(unknown as Answer)).toMatchObject({ error: { code: 'forbidden' } });
    expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
    expect(kms.calls.get('GenerateDataKey')).toBe(1);

    const second = await container([tokenRouteEvent('acme', { caller: CALLER })]);
    expect(second.answers[0]?.statusCode).toBe(200);
    expect(bodyOf(second.answers[0] as Answer).idToken).toBe(token.idToken);
    expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
    expect(kms.calls.get('Decrypt')).toBeGreaterThanOrEqual(1);

    // What the containers wrote: structured log lines and EMF documents, never the password or the refresh token.
    const written = first.stdout + second.stdout;
    expect(written).toContain('"_aws"');
    expect(written).not.toContain(password);
    expect(written).not.toMatch(/refreshToken/i);
  }, 60_000);
});
