import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

import { TokenApiError, TokenClient } from '../client/token-client';
import { AwsJwtVerifier } from '../lambdas/adapters/jwt-verifier';
import { SecretsManagerTenantStore } from '../lambdas/adapters/secrets-manager-tenant-store';
import { TenantMisconfiguredError, TvmError } from '../lambdas/core/errors';
import { selectClaims } from '../lambdas/core/presenter';
import { parseTenantConfig, TENANT_ID_PATTERN, type TenantConfig } from '../lambdas/core/tenant-config';
import { CognitoProvider } from '../lambdas/providers/cognito';
import { LoginEndpointProvider } from '../lambdas/providers/login-endpoint';

/**
 * `tvm`: the operator and consumer CLI.
 * Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 invalid tenant secret.
 */

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTTY: boolean;
  readonly env: Record<string, string | undefined>;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, invalid: 3 } as const;

const HELP: Record<string, string> = {
  main: `Usage: tvm <command> [options]

Commands:
  serve                         run the service locally (same as npm start)
  token <tenant>                print a token (or its headers) from a token-vending-machine API
  tenant check <file>           validate a tenant secret JSON offline
  tenant put <tenant> --file F  validate, then create or update the tenant secret in Secrets Manager
  tenant test <tenant>          sign in once with the tenant's stored credentials and report the result

Run 'tvm <command> --help' for a command's options.
Exit codes: 0 success, 1 failure, 2 usage error, 3 invalid tenant secret.`,
  serve: `Usage: tvm serve

Runs the service on 127.0.0.1:$PORT (default 8787) with embedded upstreams (tenants demo and demo-rest),
or with TVM_TENANTS_FILE tenants. TVM_LOCAL_SHARED_CACHE=true adds an in-process DynamoDB.`,
  token: `Usage: tvm token <tenant> [--endpoint URL] [--min-ttl N] [--json | --headers] [--region R]

Prints the tenant's token (ID token for Cognito tenants) for scripts.
  --endpoint URL   API base URL (default: $TVM_ENDPOINT, else http://127.0.0.1:8787)
  --min-ttl N      seconds the token must stay valid, 0-3600 (default 300)
  --json           print the whole response as JSON
  --headers        print the upstream headers, one 'Name: value' per line
  --region R       SigV4 signing region (default: from the endpoint, else $AWS_REGION)
Requests are signed with your AWS credentials; local endpoints need none.`,
  'tenant check': `Usage: tvm tenant check <file>

Validates a tenant secret (or a tenants file: { "<tenant>": { ...secret } }) without any network call.
Problems name the field, never the value.`,
  'tenant put': `Usage: tvm tenant put <tenant> --file <file> [--prefix P] [--region R]

Validates the secret, then creates <prefix>/<tenant> in Secrets Manager, or adds a new version if it exists.
  --prefix P   secret name prefix (default: $TVM_SECRET_PREFIX, else tvm/tenants)`,
  'tenant test': `Usage: tvm tenant test <tenant> [--file F | --prefix P] [--region R]

Signs in once with the tenant's credentials (from Secrets Manager, or from --file) and reports the
provider, the selected claims and the expiry. Never prints tokens.`,
};

class UsageError extends Error {}

function colour(io: Io) {
  const enabled = io.isTTY && !io.env.NO_COLOR;
  const wrap = (code: number) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2) };
}

/** A progress line on stderr for anything that takes longer than a second; nothing when not a TTY. */
async function withProgress<T>(io: Io, label: string, work: () => Promise<T>): Promise<T> {
  if (!io.isTTY) return work();
  const frames = ['|', '/', '-', '\\'];
  let frame = 0;
  let shown = false;
  const timer = setInterval(() => {
    shown = true;
    io.stderr(`\r${frames[frame++ % frames.length]} ${label}`);
  }, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    if (shown) io.stderr(`\r${' '.repeat(label.length + 2)}\r`);
  }
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`Cannot read ${path}.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse messages can quote the text, which may hold a password.
    throw new TenantMisconfiguredError(basename(path), ['file is not valid JSON']);
  }
}

function requireTenantId(value: string | undefined): string {
  if (!value) throw new UsageError('A tenant id is required.');
  if (!TENANT_ID_PATTERN.test(value))
    throw new UsageError(`'${value}' is not a valid tenant id (lowercase letters, digits, hyphens).`);
  return value;
}

function describeConfig(config: TenantConfig): string {
  const where =
    config.provider === 'cognito'
      ? `${config.region} ${config.userPoolId}${config.endpoint ? ` via ${config.endpoint}` : ''}`
      : config.baseUrl;
  return `${config.provider} (${where}); headers: ${Object.keys(config.headers).join(', ') || 'none'}; claims: ${config.claims.join(', ') || 'none'}`;
}

async function tokenCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      'min-ttl': { type: 'string' },
      json: { type: 'boolean' },
      headers: { type: 'boolean' },
      region: { type: 'string' },
    },
  });
  const tenantId = requireTenantId(positionals[0]);
  if (values.json && values.headers) throw new UsageError('Use either --json or --headers.');
  const minTtl = Number(values['min-ttl'] ?? 300);
  if (!Number.isInteger(minTtl) || minTtl < 0 || minTtl > 3600)
    throw new UsageError('--min-ttl must be an integer from 0 to 3600.');
  const endpoint = values.endpoint ?? io.env.TVM_ENDPOINT ?? 'http://127.0.0.1:8787';
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
  const region = values.region ?? io.env.AWS_REGION ?? (local ? 'local' : undefined);
  const client = new TokenClient({
    endpoint,
    ...(region ? { region } : {}),
    // Local mode does not check signatures; spare laptops without AWS credentials.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  const token = await withProgress(io, `Getting a token for ${tenantId}`, () => client.getToken(tenantId, { minTtl }));
  if (values.json) io.stdout(`${JSON.stringify(token, null, 2)}\n`);
  else if (values.headers)
    io.stdout(
      Object.entries(token.headers)
        .map(([name, value]) => `${name}: ${value}\n`)
        .join(''),
    );
  else io.stdout(`${token.idToken ?? token.token ?? token.accessToken ?? ''}\n`);
  return EXIT.ok;
}

function checkCommand(args: string[], io: Io): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const file = positionals[0];
  if (!file) throw new UsageError('A file is required.');
  const c = colour(io);
  const json = readJson(file);
  const single = typeof json === 'object' && json !== null && 'provider' in json;
  const entries: Array<[string, unknown]> = single
    ? [[basename(file).replace(/\.json$/, ''), json]]
    : typeof json === 'object' && json !== null && !Array.isArray(json)
      ? Object.entries(json)
      : [];
  if (entries.length === 0) {
    io.stderr(`${c.red('invalid')} ${file}: expected a tenant secret or an object of tenant id -> secret\n`);
    return EXIT.invalid;
  }
  let invalid = 0;
  for (const [tenantId, secret] of entries) {
    try {
      if (!single && !TENANT_ID_PATTERN.test(tenantId))
        throw new TenantMisconfiguredError(tenantId, ['tenant id must be lowercase letters, digits or hyphens']);
      const config = parseTenantConfig(tenantId, JSON.stringify(secret));
      io.stdout(`${c.green('ok')} ${tenantId}: ${describeConfig(config)}\n`);
    } catch (error) {
      invalid++;
      const problems = error instanceof TenantMisconfiguredError ? error.problems : [String(error)];
      io.stderr(`${c.red('invalid')} ${tenantId}:\n${problems.map((p) => `  - ${p}\n`).join('')}`);
    }
  }
  return invalid > 0 ? EXIT.invalid : EXIT.ok;
}

/** `<tenant> [--file F] [--prefix P] [--region R]`, shared by `tenant put` and `tenant test`. */
function parseTenantArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { file: { type: 'string' }, prefix: { type: 'string' }, region: { type: 'string' } },
  });
  return { values, tenantId: requireTenantId(positionals[0]) };
}

async function putCommand(args: string[], io: Io): Promise<number> {
  const { values, tenantId } = parseTenantArgs(args);
  if (!values.file) throw new UsageError('--file is required.');
  const c = colour(io);
  const text = JSON.stringify(readJson(values.file));
  try {
    parseTenantConfig(tenantId, text);
  } catch (error) {
    if (!(error instanceof TenantMisconfiguredError)) throw error;
    io.stderr(
      `${c.red('invalid')} ${tenantId}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}Nothing was sent.\n`,
    );
    return EXIT.invalid;
  }
  const prefix = (values.prefix ?? io.env.TVM_SECRET_PREFIX ?? 'tvm/tenants').replace(/\/$/, '');
  const name = `${prefix}/${tenantId}`;
  const client = new SecretsManagerClient(values.region ? { region: values.region } : {});
  const result = await withProgress(io, `Writing ${name}`, async () => {
    try {
      const created = await client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: text,
          Description: `token-vending-machine tenant ${tenantId}`,
        }),
      );
      return { action: 'created', versionId: created.VersionId };
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      const updated = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: text }));
      return { action: 'updated', versionId: updated.VersionId };
    }
  });
  io.stdout(`${c.green(result.action)} ${name} (version ${result.versionId ?? 'unknown'})\n`);
  return EXIT.ok;
}

async function testCommand(args: string[], io: Io): Promise<number> {
  const { values, tenantId } = parseTenantArgs(args);
  const c = colour(io);
  let config: TenantConfig;
  if (values.file) {
    config = parseTenantConfig(tenantId, JSON.stringify(readJson(values.file)));
  } else {
    const prefix = values.prefix ?? io.env.TVM_SECRET_PREFIX ?? 'tvm/tenants';
    const client = new SecretsManagerClient(values.region ? { region: values.region } : {});
    config = (await new SecretsManagerTenantStore({ prefix, client }).get(tenantId)).config;
  }
  const verifier = new AwsJwtVerifier();
  const provider = config.provider === 'cognito' ? new CognitoProvider(verifier) : new LoginEndpointProvider(verifier);
  const session = await withProgress(io, `Signing in for ${tenantId}`, () => provider.signIn(tenantId, config));
  const lines = [
    `${c.green('ok')} ${tenantId}: signed in to ${describeConfig(config)}`,
    `  expires: ${new Date(session.expiresAt * 1000).toISOString()} (in ${session.expiresAt - Math.floor(Date.now() / 1000)} s)`,
    `  refresh token: ${session.refreshToken ? 'received' : 'none'}`,
    ...(session.identityId ? [`  identityId: ${session.identityId}`] : []),
    `  claims: ${JSON.stringify(selectClaims(session.claims, config.claims))}`,
  ];
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const sub = command === 'tenant' ? rest[0] : undefined;
  const helpKey = command === 'tenant' && sub ? `tenant ${sub}` : (command ?? 'main');
  const args = command === 'tenant' ? rest.slice(1) : rest;
  const c = colour(io);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${HELP.main}\n`);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h') || (command === 'tenant' && (!sub || sub === '--help'))) {
    io.stdout(`${HELP[helpKey] ?? HELP.main}\n`);
    return EXIT.ok;
  }
  try {
    switch (helpKey) {
      case 'serve': {
        // Loaded on demand: local mode pulls in the emulators, which other commands do not need.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { serve } = require('../lambdas/local/start') as typeof import('../lambdas/local/start');
        await serve();
        return EXIT.ok;
      }
      case 'token':
        return await tokenCommand(args, io);
      case 'tenant check':
        return checkCommand(args, io);
      case 'tenant put':
        return await putCommand(args, io);
      case 'tenant test':
        return await testCommand(args, io);
      default:
        throw new UsageError(`Unknown command '${[command, sub].filter(Boolean).join(' ')}'.`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr(`${c.red('error')} ${error.message}\n\n${HELP[helpKey] ?? HELP.main}\n`);
      return EXIT.usage;
    }
    if (error instanceof TenantMisconfiguredError) {
      io.stderr(`${c.red('invalid')} ${error.tenantId}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
      return EXIT.invalid;
    }
    if (error instanceof TokenApiError) {
      io.stderr(
        `${c.red('error')} ${error.status} ${error.code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}\n`,
      );
      return EXIT.failed;
    }
    const code = error instanceof TvmError ? ` ${error.code}` : '';
    io.stderr(`${c.red('error')}${code}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}

/** Run with this process's arguments, streams and environment. `serve` keeps running until Ctrl-C. */
export function runFromProcess(): void {
  main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runFromProcess();
