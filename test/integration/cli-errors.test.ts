// The CLI's errors name their cause and say how to fix it (issue 10): missing AWS region or credentials,
// unreachable endpoints, bad --endpoint, `tvm tenant` alone; and no AWS SDK Node.js notice on every command.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { defaultDeps } from '../../cli/deps';
import { EXIT, main, type Io } from '../../cli/index';
import { TokenClient } from '../../client/token-client';
import { cognitoSecret } from '../support/fakes';

const dir = mkdtempSync(join(tmpdir(), 'tvm-cli-errors-'));
const secretFile = join(dir, 'acme.json');
writeFileSync(secretFile, JSON.stringify(cognitoSecret));

/** No AWS configuration at all: no region, no credentials, no config files, no instance metadata. */
const BARE_AWS_ENV = {
  AWS_CONFIG_FILE: join(dir, 'no-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
};
const AWS_VARIABLES = Object.keys(process.env).filter((name) => name.startsWith('AWS_') && name !== 'AWS_CA_BUNDLE');
const saved = { ...process.env };

beforeEach(() => {
  // The SDK reads process.env for regions and credentials: give it none.
  for (const name of AWS_VARIABLES) delete process.env[name];
  Object.assign(process.env, BARE_AWS_ENV);
});
afterEach(() => {
  for (const name of Object.keys(BARE_AWS_ENV)) delete process.env[name];
  Object.assign(process.env, saved);
});

async function run(
  argv: string[],
  env: Record<string, string> = {},
  deps?: (io: Io) => Partial<ReturnType<typeof defaultDeps>>,
) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    isTTY: false,
    env: { ...BARE_AWS_ENV, ...env },
  };
  const code = await main(argv, io, { ...defaultDeps(io), ...deps?.(io) });
  return { code, stdout, stderr };
}

describe('missing AWS configuration', () => {
  it.each([
    ['tenant put', ['tenant', 'put', 'acme', '--file', secretFile, '--no-resource-policy']],
    ['tenant test', ['tenant', 'test', 'acme']],
  ])('%s without a region says so and how to set it', async (_name, argv) => {
    const result = await run(argv);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('error No AWS region is set.');
    expect(result.stderr).toContain('--region');
    expect(result.stderr).toContain('AWS_REGION');
    expect(result.stderr).toContain('AWS_PROFILE');
  });

  it.each([
    [
      'tenant put',
      ['tenant', 'put', 'acme', '--file', secretFile, '--no-resource-policy', '--region', 'ap-southeast-2'],
    ],
    ['tenant test', ['tenant', 'test', 'acme']],
  ])('%s without credentials says so and how to set them', async (_name, argv) => {
    const result = await run(argv, { AWS_REGION: 'ap-southeast-2' });
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('error No AWS credentials were found.');
    expect(result.stderr).toContain('AWS_PROFILE');
    expect(result.stderr).toContain('AWS_ACCESS_KEY_ID');
  });
});

describe('unreachable endpoints', () => {
  it('names the URL of an endpoint nothing listens on', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((resolve) => server.close(resolve));
    const result = await run(['token', 'demo', '--endpoint', url]);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain(`error Cannot reach ${url} (ECONNREFUSED).`);
    expect(result.stderr).toContain('--endpoint');
    expect(result.stderr).not.toContain('npm start');
  });

  it('says to run npm start when the default local endpoint does not answer', async () => {
    // Port 8787 may be in use on a developer's machine: refuse the connection the way fetch does instead.
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const result = await run(['token', 'demo'], {}, () => ({
      tokenClient: (options) => new TokenClient({ ...options, fetch: () => Promise.reject(refused), maxRetries: 0 }),
    }));
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('error Cannot reach http://127.0.0.1:8787 (ECONNREFUSED).');
    expect(result.stderr).toContain('Start it with: npm start');
  });

  it('gives up on an endpoint that accepts the connection and never answers, naming it', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const started = performance.now();
      const result = await run(['token', 'demo', '--endpoint', url], {}, () => ({
        tokenClient: (options) => new TokenClient({ ...options, timeoutMs: 200 }),
      }));
      expect(performance.now() - started).toBeLessThan(2000);
      expect(result.code).toBe(EXIT.failed);
      expect(result.stderr).toContain(`error 0 timeout: GET ${url}/v1/tenants/demo/token: no answer within`);
      expect(result.stderr).toMatch(/did not answer in time: check --endpoint/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 5000);
});

describe('usage errors (exit 2)', () => {
  it.each([['ftp://example.com'], ['not a url'], ['']])('a bad --endpoint %j', async (endpoint) => {
    const result = await run(['token', 'demo', '--endpoint', endpoint]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("option '--endpoint <url>' argument");
    expect(result.stderr).toContain('Usage: tvm token');
  });

  it.each([['http://user:hunter2@127.0.0.1:1'], ['https://hunter2@example.com'], ['http://u:hunter2 x@host']])(
    'an --endpoint %j with a password is refused without echoing it',
    async (endpoint) => {
      const result = await run(['token', 'demo', '--endpoint', endpoint]);
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).not.toContain('hunter2');
      const fromEnv = await run(['token', 'demo'], { TVM_ENDPOINT: endpoint });
      expect(fromEnv.code).toBe(EXIT.usage);
      expect(fromEnv.stderr).not.toContain('hunter2');
    },
  );

  it('a bad TVM_ENDPOINT names the variable', async () => {
    const result = await run(['token', 'demo'], { TVM_ENDPOINT: 'localhost:8787' });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('TVM_ENDPOINT');
  });

  it('tvm tenant without a subcommand prints its help', async () => {
    const result = await run(['tenant']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('Usage: tvm tenant');
    for (const sub of ['check', 'put', 'test', 'status']) expect(result.stderr).toContain(sub);
  });

  it('tvm alone prints the help; --help and --version succeed', async () => {
    expect((await run([])).code).toBe(EXIT.usage);
    const help = await run(['--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain(
      'Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 invalid tenant secret.',
    );
    const version = await run(['--version']);
    expect(version.code).toBe(EXIT.ok);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a missing --file for tenant put', async () => {
    const result = await run(['tenant', 'put', 'acme']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("required option '--file <file>' not specified");
  });
});

it('the installed bin prints no AWS SDK Node.js version notice, only the error and its hint', async () => {
  // A command that creates an SDK client (where the SDK would print its notice), in a real child process.
  const child = await promisify(execFile)(
    process.execPath,
    [
      join(__dirname, '..', '..', 'bin', 'tvm-bin.js'),
      'tenant',
      'put',
      'acme',
      '--file',
      secretFile,
      '--no-resource-policy',
    ],
    { env: { PATH: process.env.PATH, HOME: dir, ...BARE_AWS_ENV } },
  ).then(
    (ok) => ({ code: 0, ...ok }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  expect(child.code).toBe(EXIT.failed);
  expect(child.stderr).not.toMatch(/NodeVersionSupportWarning|maintenance mode|Warning/);
  expect(child.stderr.trim().split('\n')).toEqual([
    'error No AWS region is set.',
    expect.stringMatching(/^hint: Pass --region, or set AWS_REGION/),
  ]);
}, 60_000);
