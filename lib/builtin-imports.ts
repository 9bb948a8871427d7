// Node.js built-in modules, imported without Node.js's ES module facade. An ES `import { env } from 'node:process'`
// makes Node.js build a module namespace of every export of the built-in, reading each one, getters included:
// `process.report` loads and compiles the diagnostic-report module, `crypto.webcrypto` the Web Crypto one, `fs.promises`
// and `timers.promises` theirs. In Lambda that compiling is dear: its runtime starts `node` with V8 flags
// (bench/support.ts, lambdaNodeArgs), and any V8 flag makes Node.js refuse the code cache its own modules were built
// with, so every module is compiled from source. Measured with those flags on the build machine, the `node:process`
// facade alone took 4-6 ms of a cold start, `node:fs` and `node:timers` about 1 ms each.
//
// So each built-in a bundle imports resolves to a small module of this plugin's that takes the built-in from
// `process.getBuiltinModule()` and reads only the exports the bundle uses: every export is a pure call, which esbuild
// drops when nothing imports it.
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';

import type { Plugin } from 'esbuild';

const NAMESPACE = 'tvm-builtin';
const IDENTIFIER = /^[A-Za-z_][\w]*$/;

let exportNames: Record<string, string[]> | undefined;

/**
 * Every built-in's export names, read in a Node.js process of their own: the building process may see other objects
 * (Jest, for one, gives its tests a `process` of its own), and a bundle must not depend on where it was built.
 */
function builtinExportNames(): Record<string, string[]> {
  exportNames ??= JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--no-warnings', // requiring `sys` or `wasi` warns
        '-e',
        'const { builtinModules } = require("node:module");' +
          'console.log(JSON.stringify(Object.fromEntries(builtinModules.filter((n) => !n.startsWith("_"))' +
          '.map((n) => [n, Object.keys(require("node:" + n))]))));',
      ],
      { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  ) as Record<string, string[]>;
  return exportNames;
}

/** The module a bundle gets for `node:<name>`: the built-in's own object, each export read only if imported. */
export function builtinFacade(name: string): string {
  const names = (builtinExportNames()[name] ?? []).filter((key) => IDENTIFIER.test(key) && key !== 'default');
  return [
    // `$`-names: no built-in exports one.
    `const $builtin = process.getBuiltinModule(${JSON.stringify(`node:${name}`)});`,
    'const $read = (key) => $builtin[key];',
    'export default $builtin;',
    ...names.map((key) => `export const ${key} = /* @__PURE__ */ $read(${JSON.stringify(key)});`),
  ].join('\n');
}

/** Resolves every built-in the bundled code imports (`crypto` or `node:crypto`) to its builtinFacade. */
export function builtinImports(): Plugin {
  const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')));
  return {
    name: 'builtin-imports',
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, '');
        // Only import statements: a dynamic import() stays one (loaded when, and if, it runs), and a require() of a
        // CommonJS dependency would need the facade's every export (esbuild's namespace object), so it stays as is.
        if (args.kind !== 'import-statement' || !builtins.has(name) || args.namespace === NAMESPACE) return undefined;
        return { path: name, namespace: NAMESPACE, sideEffects: false };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: builtinFacade(args.path),
        loader: 'js',
      }));
    },
  };
}
