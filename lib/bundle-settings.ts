// How every Lambda function is bundled, in one place: the CDK construct (tvm-function.ts), the prebuilt bundles
// of the package (scripts/build-bundles.ts) and the benchmarks (bench/) all use these settings. No CDK import
// here, so the benchmarks can read it without loading aws-cdk-lib.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { builtinImports } from './builtin-imports';
import { sdkCompaction } from './sdk-compaction';

/** Modules replaced in every bundle by smaller ones that do what Lambda needs. */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  // Role credentials from the environment (or the container endpoint) only: no SSO, INI or process providers.
  '@aws-sdk/credential-provider-node': join(__dirname, '..', 'lambdas', 'runtime', 'lambda-credentials.ts'),
  // DynamoDB's endpoint discovery, which no command of this SDK version uses: its settings only (about 2 KB less).
  '@aws-sdk/middleware-endpoint-discovery': join(__dirname, '..', 'lambdas', 'runtime', 'no-endpoint-discovery.ts'),
  // The LRU map of the SDK's endpoint-discovery cache, without mnemonist and its helpers (about 7 KB), should a
  // client still import the cache.
  'mnemonist/lru-cache': join(__dirname, '..', 'lambdas', 'runtime', 'lru-cache.ts'),
};

/**
 * Handlers whose AWS SDK clients import `@smithy/core/event-streams` themselves (S3's client does, for
 * `SelectObjectContent`). The others get `lambdas/runtime/no-event-streams.ts` instead: their clients have no
 * event-stream operation, and the real module, loaded by the SDK's protocols with a dynamic `import()`, would ship
 * as a chunk that is never loaded (about 15 KB). A client that imports the module itself fails the build ("No
 * matching export"), so a handler that starts using one must be added here.
 */
export const EVENT_STREAM_HANDLERS: ReadonlySet<string> = new Set(['export']);

/** The aliases of one handler's bundle. */
export function bundleAliases(handlerName: string): Record<string, string> {
  return {
    ...BUNDLE_ALIASES,
    ...(EVENT_STREAM_HANDLERS.has(handlerName)
      ? {}
      : {
          '@smithy/core/event-streams': join(__dirname, '..', 'lambdas', 'runtime', 'no-event-streams.ts'),
        }),
  };
}

/**
 * `mainFields: ['module', 'main']` makes esbuild read the ES module entry points of the dependencies, so the AWS
 * SDK clients are tree-shaken. The output is an ES module with code splitting: every dynamic `import()` becomes a
 * chunk of its own that Node.js reads only when the code first runs. The vend and refresh functions load their
 * sign-in code that way (lambdas/runtime/sign-in.ts: the providers, the JWT verifier, both Cognito clients), so a
 * cold start compiles about 323 KB instead of 400 KB, and a container served from the fleet-wide table never reads
 * the rest (README, Performance). Lambda's runtime loads `index.mjs` with `import()`.
 */
export const BUNDLE_SETTINGS = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node24',
  format: 'esm',
  splitting: true,
  mainFields: ['module', 'main'],
  /** The entry file of a bundle (Lambda handler `index.handler`); its chunks sit beside it. */
  outputFile: 'index.mjs',
  /**
   * Never loaded in Node.js: the SDK's browser user-agent parser imports `bowser` dynamically, and with code
   * splitting esbuild would ship it as a chunk of its own (35 KB).
   */
  external: ['bowser'],
} as const;

/** Memory of every function the stack creates unless its props say otherwise (the benchmarks start Node.js for it). */
export const FUNCTION_MEMORY_MB = 512;

/**
 * NODE_OPTIONS of a deployed function: `--enable-source-maps` only when asked for (deployment option
 * `sourceMapStackTraces`), since Node.js parses the whole source map when it loads the bundle.
 */
export function nodeOptions(sourceMapStackTraces: boolean): Record<string, string> {
  return sourceMapStackTraces ? { NODE_OPTIONS: '--enable-source-maps' } : {};
}

/** The entry file of a handler under `lambdas/handlers/`, e.g. `vend`. */
export function handlerEntry(handlerName: string): string {
  return join(__dirname, '..', 'lambdas', 'handlers', `${handlerName}.ts`);
}

/**
 * Where `npm run build` writes a handler's bundle (`dist/bundles/<name>/`). Every other build (the CDK construct at
 * synth, the benchmarks) names its outputs as if written here and then writes them where it needs them: the source
 * maps hold paths relative to this folder, and esbuild's chunk names hash the maps too, so the same folder gives
 * byte-identical files wherever they land.
 */
export function bundleDir(handlerName: string): string {
  return join(__dirname, '..', 'dist', 'bundles', handlerName);
}

/** Writes a bundle built for {@link bundleDir} (esbuild's `write: false`) into `outdir`, its source maps if asked. */
export function writeBundle(
  outputFiles: readonly { readonly path: string; readonly contents: Uint8Array }[],
  outdir: string,
  withSourceMaps: boolean,
): void {
  mkdirSync(outdir, { recursive: true });
  for (const file of outputFiles) {
    if (withSourceMaps || !file.path.endsWith('.map')) writeFileSync(join(outdir, basename(file.path)), file.contents);
  }
}

/**
 * esbuild options for one handler's bundle, exactly as deployed: `outdir` (by default {@link bundleDir}) receives
 * `index.mjs` and the chunks it loads, each with its source map (deployed only with `sourceMapStackTraces`; the code
 * is the same either way).
 */
export function esbuildOptions(handlerName: string, outdir: string = bundleDir(handlerName)) {
  return {
    entryPoints: { index: handlerEntry(handlerName) },
    bundle: true,
    platform: 'node' as const,
    target: BUNDLE_SETTINGS.target,
    format: BUNDLE_SETTINGS.format,
    splitting: BUNDLE_SETTINGS.splitting,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    mainFields: [...BUNDLE_SETTINGS.mainFields],
    external: [...BUNDLE_SETTINGS.external],
    alias: bundleAliases(handlerName),
    minify: BUNDLE_SETTINGS.minify,
    sourcemap: BUNDLE_SETTINGS.sourceMap,
    sourcesContent: BUNDLE_SETTINGS.sourcesContent,
    outdir,
    // Paths in the output (chunk hashes, source maps) are relative to the project, wherever the build runs from.
    absWorkingDir: join(__dirname, '..'),
    // The AWS SDK clients compacted: modeled errors, tree-shakeable schemas, package.json files, the SHA-256 stand-in
    // (lib/sdk-compaction.ts). A plugin: esbuild runs it in its asynchronous API only, so every build of a bundle goes
    // through `build()` (the CDK's, in a child process: lib/tvm-function.ts).
    plugins: [sdkCompaction(), builtinImports()],
  };
}

/** The part of esbuild's metafile that tells which output imports which (no esbuild import here). */
export interface BundleOutputs {
  readonly outputs: Readonly<
    Record<
      string,
      {
        readonly entryPoint?: string;
        readonly imports: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[];
      }
    >
  >;
}

/**
 * The outputs a cold start reads: the entry and every chunk it imports statically, transitively. The chunks behind
 * a dynamic `import()` are read on first use.
 */
export function loadedAtStart(metafile: BundleOutputs): string[] {
  const entry = Object.keys(metafile.outputs).find((path) => metafile.outputs[path]?.entryPoint);
  const seen = new Set<string>();
  const visit = (path: string | undefined): void => {
    if (!path || seen.has(path)) return;
    seen.add(path);
    for (const imported of metafile.outputs[path]?.imports ?? [])
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
  };
  visit(entry);
  return [...seen];
}
