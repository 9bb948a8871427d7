// `node:process` imported without Node.js's ES module facade. An ES `import { env } from 'node:process'` makes
// Node.js build a module namespace of every export of `process`, reading each one, getters included: `process.report`
// loads and compiles the diagnostic-report module. In Lambda that compiling is dear: its runtime starts `node` with
// V8 flags (bench/support.ts, lambdaNodeArgs), and any V8 flag makes Node.js refuse the code cache its own modules
// were built with, so every module is compiled from source. Measured with those flags on the build machine, the
// `node:process` facade alone took 4-6 ms of a cold start (the AWS SDK's user-agent code imports `env` and `versions`
// from it); the other built-ins' facades cost 1 ms or less each, and are left as they are.
//
// So `process` and `node:process` resolve to a module of this plugin's that reads, from the global `process`, only
// the names the bundle imports: each export is a pure read, which esbuild drops when nothing imports it. The names
// are a fixed list (those of Node.js's `process` that the ES facade exports), not the building Node.js's, so a bundle
// is the same whatever Node.js builds it; a name not in the list fails the build, naming it.
import type { Plugin } from 'esbuild';

const NAMESPACE = 'tvm-builtin';

/** The names `import { … } from 'node:process'` may take: `process`'s own, as Node.js 20 to 24 have them. */
export const PROCESS_EXPORTS = [
  'abort',
  'allowedNodeEnvironmentFlags',
  'arch',
  'argv',
  'argv0',
  'availableMemory',
  'chdir',
  'config',
  'constrainedMemory',
  'cpuUsage',
  'cwd',
  'debugPort',
  'dlopen',
  'emitWarning',
  'env',
  'execArgv',
  'execPath',
  'execve',
  'exit',
  'exitCode',
  'features',
  'finalization',
  'getActiveResourcesInfo',
  'getBuiltinModule',
  'getegid',
  'geteuid',
  'getgid',
  'getgroups',
  'getuid',
  'hasUncaughtExceptionCaptureCallback',
  'hrtime',
  'initgroups',
  'kill',
  'loadEnvFile',
  'memoryUsage',
  'nextTick',
  'permission',
  'pid',
  'platform',
  'ppid',
  'ref',
  'release',
  'report',
  'resourceUsage',
  'setSourceMapsEnabled',
  'setUncaughtExceptionCaptureCallback',
  'setegid',
  'seteuid',
  'setgid',
  'setgroups',
  'setuid',
  'sourceMapsEnabled',
  'stderr',
  'stdin',
  'stdout',
  'threadCpuUsage',
  'title',
  'umask',
  'unref',
  'uptime',
  'version',
  'versions',
] as const;

/** The module a bundle gets for `node:process`: the global `process`, each name read only if imported. */
export function processStandIn(): string {
  return [
    'const read = (key) => process[key];',
    'export default process;',
    ...PROCESS_EXPORTS.map((key) => `export const ${key} = /* @__PURE__ */ read(${JSON.stringify(key)});`),
  ].join('\n');
}

/** Resolves the bundled code's `import … from 'node:process'` (or `'process'`) to processStandIn. */
export function builtinImports(): Plugin {
  return {
    name: 'builtin-imports',
    setup(build) {
      build.onResolve({ filter: /^(node:)?process$/ }, (args) =>
        // Only import statements: a require() of a CommonJS dependency stays as it is.
        args.kind === 'import-statement' ? { path: 'process', namespace: NAMESPACE, sideEffects: false } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: processStandIn(), loader: 'js' }));
    },
  };
}
