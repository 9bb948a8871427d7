import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { build } from 'esbuild';

import { BUNDLE_SETTINGS, esbuildOptions } from '../../lib/bundle-settings';
import { LAMBDA_RUNTIME, sourceBundle } from '../../lib/tvm-function';
import { exampleConfig, synth } from './support';

interface DeployedFunction {
  readonly description: string;
  readonly handler: string;
  readonly s3Key: string;
  readonly nodeOptions: string | undefined;
  /** The files of its code asset in the cloud assembly. */
  readonly files: string[];
  readonly read: (name: string) => string;
}

/** Every Lambda function of a synthesized stack, bundled for real, with the files of its code asset. */
function deployedFunctions(stack: Stack): DeployedFunction[] {
  const assembly = App.of(stack)?.synth();
  return Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map((fn) => {
    const s3Key = String(fn.Properties.Code.S3Key);
    const asset = join(assembly?.directory ?? '', `asset.${s3Key.replace(/\.zip$/, '')}`);
    return {
      description: String(fn.Properties.Description),
      handler: String(fn.Properties.Handler),
      s3Key,
      nodeOptions: fn.Properties.Environment?.Variables?.NODE_OPTIONS as string | undefined,
      files: readdirSync(asset),
      read: (name: string) => readFileSync(join(asset, name), 'utf8'),
    };
  });
}

/** All the code of a function: its entry and every chunk. */
function allCode(fn: DeployedFunction): string {
  return fn.files
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => fn.read(name))
    .join('\n');
}

function named(functions: DeployedFunction[], prefix: string): DeployedFunction {
  const found = functions.find((fn) => fn.description.startsWith(prefix));
  if (!found) throw new Error(`no function described '${prefix}...'`);
  return found;
}

describe('bundling', () => {
  it('bundles each function from its own handler for real (the project esbuild, no Docker), without source maps', async () => {
    const { stack } = synth(exampleConfig, { bundle: true, validate: true });
    const functions = deployedFunctions(stack);
    const vend = named(functions, 'Vends');
    const refresh = named(functions, 'Renews');
    const exporter = named(functions, 'Analytics export');
    // One asset per handler: the CDK stages assets by their options, so a bundling that named no handler there
    // would give every function the first one's code.
    expect(new Set([vend.s3Key, refresh.s3Key, exporter.s3Key]).size).toBe(3);
    expect(allCode(vend)).toContain('token vended');
    expect(allCode(vend)).not.toContain('refresh finished');
    expect(allCode(refresh)).toContain('refresh finished');
    expect(allCode(refresh)).not.toContain('token vended');
    expect(allCode(exporter)).toContain('export finished');
    expect(allCode(exporter)).not.toContain('token vended');
    for (const fn of [vend, refresh, exporter]) {
      // An ES module (Lambda imports index.mjs) exporting the handler, beside the chunks it loads.
      expect(fn.handler).toBe('index.handler');
      expect(/export\s*\{[^}]*\bas handler\s*\}/.test(fn.read(BUNDLE_SETTINGS.outputFile))).toBe(true);
      // No source maps where nothing would read them (sourceMapStackTraces is off by default).
      expect(fn.files.filter((name) => name.endsWith('.map'))).toEqual([]);
      expect(fn.nodeOptions).toBeUndefined();
    }
    // The code deployed is the code `npm run build` writes (and the benchmarks measure): the same files, byte for byte.
    const { outputFiles } = await build({ ...esbuildOptions('vend'), write: false, logLevel: 'silent' });
    const code = outputFiles.filter((file) => file.path.endsWith('.mjs'));
    expect(vend.files.filter((name) => name.endsWith('.mjs')).sort()).toEqual(
      code.map((file) => basename(file.path)).sort(),
    );
    for (const file of code) expect(vend.read(basename(file.path))).toBe(file.text);
    // The vend and refresh functions load their sign-in code on first use.
    for (const fn of [vend, refresh])
      expect(fn.files.filter((name) => /^sign-in-\w+\.mjs$/.test(name))).toHaveLength(1);
    const everything = allCode(vend);
    // The SDK tree-shaken from its ES module entry points: no unused commands.
    expect(everything.includes('ListTablesCommand')).toBe(false);
    // The credential chain Lambda needs only: no SSO or INI-file providers inside.
    expect(everything.includes('credential-provider-sso')).toBe(false);
    expect(everything.includes('fromIni')).toBe(false);
    // The SDK's event-stream module replaced by its stand-in (lib/bundle-settings.ts), as in the prebuilt bundles.
    expect(everything.includes('AWS SDK event streams are not bundled in this function')).toBe(true);
    const bytes = statSync(
      join(
        App.of(stack)?.synth().directory ?? '',
        `asset.${vend.s3Key.replace(/\.zip$/, '')}`,
        BUNDLE_SETTINGS.outputFile,
      ),
    ).size;
    expect(bytes).toBeGreaterThan(10_000);
  }, 180_000); // esbuild bundles three functions; a loaded 2-core CI machine needs more than a minute

  it('ships source maps, and reads them, only with sourceMapStackTraces', () => {
    const { stack } = synth({ ...exampleConfig, sourceMapStackTraces: true }, { bundle: true });
    const functions = deployedFunctions(stack);
    const handlers: [DeployedFunction, string][] = [
      [named(functions, 'Vends'), 'vend'],
      [named(functions, 'Renews'), 'refresh'],
      [named(functions, 'Analytics export'), 'export'],
    ];
    for (const [fn, handler] of handlers) {
      expect(fn.files).toContain(`${BUNDLE_SETTINGS.outputFile}.map`);
      expect(fn.nodeOptions).toBe('--enable-source-maps');
      // The map is the function's own: it names its handler's source.
      const map = JSON.parse(fn.read(`${BUNDLE_SETTINGS.outputFile}.map`)) as { sources: string[] };
      const entries = map.sources.filter((source) => /lambdas\/handlers\/(vend|refresh|export)\.ts$/.test(source));
      expect(entries).toEqual([expect.stringMatching(new RegExp(`lambdas/handlers/${handler}\\.ts$`))]);
    }
  }, 180_000);

  it("fails the synth with the bundler's own message when a function cannot be bundled", () => {
    const stack = new Stack(new App(), 'Broken');
    expect(
      () =>
        new lambda.Function(stack, 'Fn', {
          runtime: LAMBDA_RUNTIME,
          handler: 'index.handler',
          code: sourceBundle('no-such-handler'),
        }),
    ).toThrow(/Bundling the no-such-handler function failed: [\s\S]*no-such-handler\.ts/);
  }, 60_000);
});
