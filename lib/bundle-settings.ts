// How every Lambda function is bundled, in one place: the CDK construct (tvm-function.ts), the prebuilt bundles
// of the package (scripts/build-bundles.ts) and the benchmarks (bench/) all use these settings. No CDK import
// here, so the benchmarks can read it without loading aws-cdk-lib.
import { join } from 'node:path';

/** Modules replaced in every bundle by smaller ones that do what Lambda needs. */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  // Role credentials from the environment (or the container endpoint) only: no SSO, INI or process providers.
  '@aws-sdk/credential-provider-node': join(__dirname, '..', 'lambdas', 'runtime', 'lambda-credentials.ts'),
};

/**
 * Handlers whose AWS SDK clients import `@smithy/core/event-streams` themselves (S3's client does, for
 * `SelectObjectContent`). The others get `lambdas/runtime/no-event-streams.ts` instead: their clients have no
 * event-stream operation, and the real module, loaded by the SDK's protocols with a dynamic `import()`, makes esbuild
 * wrap all of `@smithy/core` in lazy initialisers (vend bundle: 467,647 -> 447,780 bytes, in-process load about
 * 4 ms shorter). A client that imports the module itself fails the build ("No matching export"), so a handler that
 * starts using one must be added here.
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
 * SDK clients are tree-shaken. The output is CommonJS: the same code as an ES module bundle, but Node.js loads it
 * faster (measured on the build machine, in-process, medians of 8 alternating runs: the vend bundle loads in
 * 111 ms as CommonJS against 118.5 ms as an ES module), and it needs no `createRequire` banner for the CommonJS
 * dependencies inside.
 */
export const BUNDLE_SETTINGS = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node24',
  format: 'cjs',
  mainFields: ['module', 'main'],
  /** The bundle's file name (Lambda handler `index.handler`). */
  outputFile: 'index.js',
} as const;

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

/** esbuild options for one handler's bundle, exactly as deployed. */
export function esbuildOptions(handlerName: string, outfile: string) {
  return {
    entryPoints: [handlerEntry(handlerName)],
    bundle: true,
    platform: 'node' as const,
    target: BUNDLE_SETTINGS.target,
    format: BUNDLE_SETTINGS.format,
    mainFields: [...BUNDLE_SETTINGS.mainFields],
    alias: bundleAliases(handlerName),
    minify: BUNDLE_SETTINGS.minify,
    sourcemap: BUNDLE_SETTINGS.sourceMap,
    sourcesContent: BUNDLE_SETTINGS.sourcesContent,
    outfile,
  };
}
