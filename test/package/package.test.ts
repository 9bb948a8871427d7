// The package as a user gets it: `npm pack`, `npm install <tarball>` in a scratch project outside the repository
// (no dev dependencies), then the client, the `tvm` bin and the CDK constructs used from there.
// Slow (a build, a pack and an install): run by `npm run test:package` and CI, not by `npm test`.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { startLocalService, type LocalService } from '../../lambdas/local/local-service';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'tvm-package-'));
const scratch = join(work, 'consumer');
let tarball: string;
let service: LocalService;

/** The environment without what `npm run` adds, so the scratch project's npm behaves as a user's. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && name !== 'INIT_CWD'),
);
const inScratch = (file: string, args: string[]) => run(file, args, { cwd: scratch, env, maxBuffer: 64 * 1024 * 1024 });

beforeAll(async () => {
  // `npm pack` runs the prepack script (npm run build), so the tarball holds a fresh dist/.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: repo,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>;
  tarball = join(work, packed[0]?.filename ?? '');
  writeFileSync(join(work, 'package.json'), '{}'); // npm must not walk up into an unrelated project
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  // aws-cdk-lib and constructs are optional peers: a CDK app has them already; here the synth step needs them.
  const install = (cache: string) =>
    inScratch('npm', [
      'install',
      '--no-audit',
      '--no-fund',
      cache,
      tarball,
      `aws-cdk-lib@${manifest.devDependencies['aws-cdk-lib']}`,
      `constructs@${manifest.devDependencies.constructs}`,
    ]);
  // From the local cache; if its package metadata is older than a version some dependency now asks for
  // (ETARGET), once more with fresh metadata.
  await install('--prefer-offline').catch((error: { stderr?: string }) => {
    if (!String(error.stderr).includes('ETARGET')) throw error;
    return install('--prefer-online');
  });
  service = await startLocalService({ port: 0 });
}, 900_000);

afterAll(async () => {
  await service?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('pulls in runtime dependencies only, and ships compiled code with types but no TypeScript sources', () => {
    const installed = join(scratch, 'node_modules');
    // Packages this repository needs only for development (dev in its lock file): none may reach a user.
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.keys(manifest.devDependencies).filter(
      (name) => lock.packages[`node_modules/${name}`]?.dev && !['aws-cdk-lib', 'constructs'].includes(name),
    );
    expect(devOnly).toEqual(
      expect.arrayContaining(['typescript', 'jest', 'tsx', 'esbuild', 'cognito-local', 'cdk-nag']),
    );
    expect(devOnly.filter((name) => existsSync(join(installed, name)))).toEqual([]);
    const root = join(installed, manifest.name);
    expect(readdirSync(root).sort()).toEqual(['README.md', 'bin', 'dist', 'package.json'].sort());
    for (const file of ['client/index.d.ts', 'lib/index.d.ts', 'contract/index.d.ts', 'bundles/vend'])
      expect(existsSync(join(root, 'dist', file))).toBe(true);
    expect(existsSync(join(root, 'bin', 'tvm.ts'))).toBe(false);
  });

  it('imports the client, without the CDK, and gets a token from a local server', async () => {
    writeFileSync(
      join(scratch, 'get-token.js'),
      `const { TokenClient, fingerprint } = require('${manifest.name}/client');
const client = new TokenClient({ endpoint: process.argv[2], region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
client.getToken('demo', { minTtl: 300 }).then((token) => {
  const cdkLoaded = Object.keys(require.cache).some((path) => path.includes('aws-cdk-lib'));
  console.log(JSON.stringify({ provider: token.provider, idToken: token.idToken, fingerprint: fingerprint(token.idToken), cdkLoaded }));
});`,
    );
    const { stdout } = await inScratch(process.execPath, ['get-token.js', service.url]);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ provider: 'cognito', cdkLoaded: false });
    expect(result.idToken).toMatch(/^eyJ/);
    expect(result.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  }, 60_000);

  it('runs the tvm bin from compiled JavaScript: --help and a token from the local server', async () => {
    const help = await inScratch('npx', ['tvm', '--help']);
    expect(help.stdout).toContain('Usage: tvm');
    expect(help.stdout).toContain('Exit codes: 0 success');
    const version = await inScratch('npx', ['tvm', '--version']);
    expect(version.stdout.trim()).toBe(manifest.version);
    const token = await inScratch('npx', ['tvm', 'token', 'demo', '--endpoint', service.url]);
    expect(token.stdout.trim()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    // Nothing but npm's own notices about this machine's npm configuration: no SDK notice, no warning.
    expect(token.stderr.split('\n').filter((line) => line && !line.startsWith('npm warn'))).toEqual([]);
    // Local mode's emulators are development dependencies: the installed bin says so instead of crashing.
    const serve = await inScratch('npx', ['tvm', 'serve']).catch((error: { code: number; stderr: string }) => error);
    expect(serve).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/tvm serve needs \S+, a development dependency/),
    });
  }, 120_000);

  it('synthesizes a CDK app with TokenVendingService from the package, deploying the prebuilt bundles', async () => {
    writeFileSync(
      join(scratch, 'app.js'),
      `const { App, Stack } = require('aws-cdk-lib');
const { TokenVendingService } = require('${manifest.name}/constructs');
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer');
new TokenVendingService(stack, 'Tokens', {
  consumers: [{ principal: 'arn:aws:iam::123456789012:role/analytics', tenants: ['acme'] }],
  tenants: ['acme'],
});
const template = app.synth().getStackByName('Consumer').template;
const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
console.log(JSON.stringify(functions.map((f) => ({ handler: f.Properties.Handler, key: f.Properties.Code.S3Key }))));`,
    );
    const { stdout } = await inScratch(process.execPath, ['app.js']);
    const functions = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as Array<{ handler: string; key: string }>;
    expect(functions.length).toBeGreaterThanOrEqual(2);
    // Each function its own bundle.
    expect(new Set(functions.map((fn) => fn.key)).size).toBe(functions.length);
    for (const fn of functions) {
      expect(fn.handler).toBe('index.handler');
      // The prebuilt bundle (index.mjs and its chunks) as the package ships it: no esbuild ran here (the consumer has none).
      const asset = join(scratch, 'cdk.out', `asset.${fn.key.replace(/\.zip$/, '')}`);
      const bundle = readdirSync(asset).find((file) => /^index\.m?js$/.test(file));
      expect(readFileSync(join(asset, bundle ?? 'index.js'), 'utf8')).toContain('handler');
      // Without sourceMapStackTraces the package's source maps stay out of the deployment.
      expect(readdirSync(asset).filter((file) => file.endsWith('.map'))).toEqual([]);
    }
    expect(existsSync(join(scratch, 'node_modules', 'esbuild'))).toBe(false);
  }, 300_000);
});
