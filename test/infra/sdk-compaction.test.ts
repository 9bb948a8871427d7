// lib/sdk-compaction.ts rewrites AWS SDK client files in every bundle. Each rewrite must keep what the SDK and this
// service see: these tests run the rewritten files of every installed client beside the originals (the clients'
// CommonJS builds, generated from the same sources) and compare what they export.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { build, transformSync } from 'esbuild';

import {
  compactModeledErrors,
  inlineSchemaTraitKeys,
  packageNameAndVersion,
  parseModeledErrors,
  sdkCompaction,
  SHA256_JS_STAND_IN,
} from '../../lib/sdk-compaction';

const requireHere = createRequire(__filename);
const sdkDir = dirname(dirname(requireHere.resolve('@aws-sdk/client-kms/package.json')));
const CLIENTS = readdirSync(sdkDir).filter((name) => name.startsWith('client-'));

type Exports = Record<string, unknown>;
type ErrorClass = (new (options: Record<string, unknown>) => Error & Record<string, unknown>) & { shapeId?: string };

/** Runs an ES module of a client's `dist-es` as CommonJS, its relative imports answered by `imports`. */
function evaluate(source: string, imports: (path: string) => unknown): Exports {
  const { code } = transformSync(source, { format: 'cjs', target: 'node20' });
  const module = { exports: {} as Exports };
  new Function('require', 'module', 'exports', code)(imports, module, module.exports);
  return module.exports;
}

function clientFile(client: string, path: string): string {
  return readFileSync(join(sdkDir, client, path), 'utf8');
}

/** Every own property but the stack, in order, with its descriptor: what an instance is made of. */
function ownProperties(value: object): [PropertyKey, PropertyDescriptor | undefined][] {
  return Reflect.ownKeys(value)
    .filter((key) => key !== 'stack')
    .map((key) => [key, Object.getOwnPropertyDescriptor(value, key)]);
}

describe.each(CLIENTS)('@aws-sdk/%s', (client) => {
  const original = requireHere(`@aws-sdk/${client}`) as Exports;

  it('has modeled errors in the shape the compaction knows, so its bundles get the compact ones', () => {
    const source = clientFile(client, 'dist-es/models/errors.js');
    expect(parseModeledErrors(source)?.errors.length).toBe(source.match(/^export class /gm)?.length);
    expect(compactModeledErrors(source)).toBeDefined();
  });

  it('compact modeled errors: the same classes, instances and prototype chain as the SDK', () => {
    const source = clientFile(client, 'dist-es/models/errors.js');
    const base = parseModeledErrors(source)?.base as string;
    // Both files evaluated alike, on the same base class: the one the bundle rewrites, and the rewrite.
    const baseModule = () => ({ [base]: original[base] });
    const generated = evaluate(source, baseModule);
    const compact = evaluate(compactModeledErrors(source) as string, baseModule);
    const names = Object.keys(compact);
    expect(names).toEqual(Object.keys(generated));
    expect(names.sort()).toEqual([...source.matchAll(/^export class (\w+)/gm)].map((match) => match[1]).sort());
    for (const name of names) {
      const Compact = compact[name] as ErrorClass;
      const Generated = generated[name] as ErrorClass;
      expect(Compact.name).toBe(name);
      expect(Compact.shapeId).toBe(Generated.shapeId);
      expect(Compact.shapeId).toBe((original[name] as ErrorClass).shapeId);
      expect(Object.getPrototypeOf(Compact)).toBe(original[base]);
      // As the SDK's protocols construct them (an empty object, then the fields they read assigned), and with
      // every option a caller could pass, a field of its own included.
      const fields = Object.keys(new Generated({})).filter((key) => /^[A-Za-z]/.test(key) && key !== 'name');
      const options = {
        message: 'm',
        name: 'NotThisName',
        $fault: 'server',
        $metadata: { httpStatusCode: 400, requestId: 'r' },
        ...Object.fromEntries(fields.map((field) => [field, `value of ${field}`])),
      };
      for (const given of [{}, options]) {
        const compactError = new Compact(given);
        const generatedError = new Generated(given);
        expect(ownProperties(compactError)).toStrictEqual(ownProperties(generatedError));
        expect(JSON.stringify(compactError)).toBe(JSON.stringify(generatedError));
        expect(String(compactError)).toBe(String(generatedError));
        expect(compactError).toBeInstanceOf(Compact);
        expect(compactError).toBeInstanceOf(original[base] as ErrorClass);
        expect(compactError).toBeInstanceOf(Error);
        // Each instance its own $retryable object, as a class field gives.
        if (generatedError.$retryable !== undefined)
          expect(compactError.$retryable).not.toBe(new Compact({}).$retryable);
      }
    }
  });

  it('schemas with literal trait keys: every export the same value as the SDK', () => {
    const files = readdirSync(join(sdkDir, client, 'dist-es', 'schemas')).filter((file) =>
      /^schemas_\d+\.js$/.test(file),
    );
    expect(files).not.toEqual([]);
    for (const file of files) {
      const source = clientFile(client, `dist-es/schemas/${file}`);
      const inlined = inlineSchemaTraitKeys(source);
      // Something to compare: the S3 client's shapes name their HTTP bindings this way.
      if (client === 'client-s3') expect(inlined).not.toBe(source);
      // Both evaluated alike: the SDK's own modules for the imports, so both register the same error classes.
      const imports = (path: string) =>
        path.startsWith('.') ? original : requireHere(path.startsWith('@') ? path : `@aws-sdk/${client}`);
      const before = evaluate(source, imports);
      const after = evaluate(inlined, imports);
      expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
      for (const name of Object.keys(before)) {
        if (name === 'errorTypeRegistries') continue; // registries: instances of their own, compared by what they hold
        expect(comparable(after[name])).toEqual(comparable(before[name]));
      }
    }
  });

  it('package.json reduced to the name and the version the user agent reads', () => {
    const packageJson = JSON.parse(clientFile(client, 'package.json')) as { name: string; version: string };
    expect(JSON.parse(packageNameAndVersion(clientFile(client, 'package.json')))).toEqual({
      name: packageJson.name,
      version: packageJson.version,
    });
  });
});

/** A schema as data: the lazy references (`() => Shape$`) by what they return, one level down. */
function comparable(value: unknown, depth = 0): unknown {
  if (typeof value === 'function') return depth > 3 ? 'function' : comparable((value as () => unknown)(), depth + 1);
  if (Array.isArray(value)) return value.map((item) => comparable(item, depth));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, comparable(item, depth)]));
  return value;
}

describe('parseModeledErrors', () => {
  const base = 'import { XServiceException as __BaseException } from "./XServiceException";\n';
  const error = (name: string) =>
    [
      `export class ${name} extends __BaseException {`,
      `    static shapeId = "com.amazonaws.x#${name}";`,
      `    name = "${name}";`,
      '    $fault = "client";',
      '    constructor(opts) {',
      '        super({',
      `            name: "${name}",`,
      '            $fault: "client",',
      '            ...opts,',
      '        });',
      `        Object.setPrototypeOf(this, ${name}.prototype);`,
      '    }',
      '}',
      '',
    ].join('\n');

  it('reads the generated classes', () => {
    expect(parseModeledErrors(base + error('AError') + error('BError'))?.errors.map((e) => e.name)).toEqual([
      'AError',
      'BError',
    ]);
  });

  it('leaves a file with anything else in it as it is', () => {
    expect(compactModeledErrors(`${base}${error('AError')}export const helper = () => 1;\n`)).toBeUndefined();
    expect(compactModeledErrors(base + error('AError').replace('...opts,', '...opts, extra: 1,'))).toBeUndefined();
    expect(compactModeledErrors(error('AError'))).toBeUndefined();
    expect(compactModeledErrors(base)).toBeUndefined();
  });
});

describe('the plugin', () => {
  it('bundles an errors file of a shape it does not know as it is, with a warning naming it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tvm-compaction-'));
    try {
      const errors = join(root, 'node_modules', '@aws-sdk', 'client-future', 'dist-es', 'models', 'errors.js');
      mkdirSync(dirname(errors), { recursive: true });
      writeFileSync(errors, 'export class FutureError extends Error { static shapeId = "future#FutureError"; }\n');
      const result = await build({
        stdin: { contents: `export { FutureError } from ${JSON.stringify(errors)};`, resolveDir: root },
        bundle: true,
        format: 'esm',
        write: false,
        logLevel: 'silent',
        plugins: [sdkCompaction()],
      });
      expect(result.warnings.map((warning) => warning.text)).toEqual([
        expect.stringContaining('client-future/dist-es/models/errors.js is not in the expected shape'),
      ]);
      expect(result.outputFiles[0]?.text).toContain('future#FutureError');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('inlineSchemaTraitKeys', () => {
  const constants = 'const _h = "httpHeader";\nconst _p = "__proto__";\n';

  it('writes the computed keys of object literals as the strings they name', () => {
    expect(inlineSchemaTraitKeys(`${constants}export var A$ = [3, n0, _A, { [_h]: _x }, [_b], [0]];\n`)).toContain(
      '{ "httpHeader": _x }',
    );
  });

  it('leaves error schemas, other brackets and a __proto__ key as they are', () => {
    for (const statement of [
      'export var E$ = [-3, n0, _E, { [_h]: _x }, [], []];\n',
      'var A$ = [3, n0, _A, c ? [_h]: y, [], []];\n',
      'var A$ = [3, n0, _A, { [_p]: 1 }, [], []];\n',
      'var A$ = [3, n0, _A, { [_unknown]: 1 }, [], []];\n',
    ])
      expect(inlineSchemaTraitKeys(constants + statement)).toBe(constants + statement);
  });
});

describe('the SHA-256 stand-in', () => {
  it('stands in for a class Node.js never uses: the SDK picks node:crypto', () => {
    const checksum = requireHere('@smithy/core/checksum') as Exports;
    expect(checksum.Sha256Node).not.toBe(checksum.Sha256Js);
    expect(checksum.Sha256).toBe(checksum.Sha256Node);
  });

  it('says why if it is ever constructed', () => {
    const { Sha256Js } = evaluate(SHA256_JS_STAND_IN, () => ({})) as { Sha256Js: new () => unknown };
    expect(() => new Sha256Js()).toThrow(/JavaScript SHA-256 is not bundled/);
  });
});
