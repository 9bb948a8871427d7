// Smaller equivalents of AWS SDK files that esbuild would otherwise bundle verbatim, applied to every bundle by an
// esbuild plugin (lib/bundle-settings.ts). They keep the SDK's behaviour; they only drop bytes a Lambda function
// deploys and compiles at every cold start:
// - `dist-es/models/errors.js`: one class per error the service models (48 for KMS, 59 for the Cognito user-pool
//   API), each spelled out in full (about 270 bytes minified). The client registers every one of them with its error
//   schema, so tree-shaking keeps them all. The compact module makes the same classes with one small factory: same
//   export names, same base class, same `shapeId`, and instances with the same own properties (`name`, `$fault`,
//   `$retryable`, the modeled fields), so `instanceof` and the SDK's deserialisation (which constructs the class and
//   assigns the fields it read) work as before. About 40 bytes per error instead of 270.
// - `dist-es/schemas/schemas_0.js`: the client's schemas, one top-level array per shape, whose traits name their keys
//   through constants (`{ [_hH]: _xaa }` for `{ httpHeader: "x-amz-acl" }`). esbuild keeps every object literal with
//   a computed key, since it cannot tell the key is a plain string, and with it every shape it refers to: the S3
//   client shipped all of its 528 schemas (66 KB) for the ten operations the export function calls (five of its
//   own, five of lib-storage's multipart upload). Writing those keys as the string literals they are lets
//   tree-shaking drop the shapes no operation uses. Error schemas are left as they are: the client registers each
//   one, so they are kept anyway, and literal keys would only lengthen them.
// - the client's `package.json`, which the client imports whole for one field (its version, in the user agent).
// - `Sha256Js`, a pure JavaScript SHA-256 the SDK falls back to when `node:crypto` has no SHA-256 (never, in Node.js:
//   `Sha256Node` checks once when loaded): a class that says so if it is ever constructed (3 KB less).
// No esbuild or CDK import here: the construct library loads this without either.
import { readFileSync } from 'node:fs';

/** One error class of a client's `models/errors.js`. */
interface ModeledError {
  readonly name: string;
  readonly shapeId: string;
  readonly fault: string;
  /** The `$retryable` object literal, as written. */
  readonly retryable?: string;
  readonly fields: readonly string[];
}

const BASE_IMPORT = /^import \{ (\w+) as __BaseException \} from "(\.\/\w+)";\n/;

// The class the SDK's code generator writes for every modeled error, e.g. (KMS, DynamoDB):
//   export class InvalidArnException extends __BaseException {
//       static shapeId = "com.amazonaws.kms#InvalidArnException";
//       name = "InvalidArnException";
//       $fault = "client";
//       $retryable = {};                 (only some)
//       Message;                         (one line per modeled field)
//       constructor(opts) {
//           super({ name: "InvalidArnException", $fault: "client", ...opts });   (over five lines)
//           Object.setPrototypeOf(this, InvalidArnException.prototype);
//           this.Message = opts.Message;   (one line per modeled field)
//       }
//   }
const ERROR_CLASS = new RegExp(
  [
    String.raw`export class (\w+) extends __BaseException \{\n`,
    String.raw` {4}static shapeId = "([\w.#]+)";\n`,
    String.raw` {4}name = "(\w+)";\n`,
    String.raw` {4}\$fault = "(client|server)";\n`,
    String.raw`(?: {4}\$retryable = (\{[\w: ]*\});\n)?`,
    String.raw`((?: {4}\w+;\n)*)`,
    String.raw` {4}constructor\(opts\) \{\n`,
    String.raw` {8}super\(\{\n {12}name: "(\w+)",\n {12}\$fault: "(client|server)",\n {12}\.\.\.opts,\n {8}\}\);\n`,
    String.raw` {8}Object\.setPrototypeOf\(this, (\w+)\.prototype\);\n`,
    String.raw`((?: {8}this\.\w+ = opts\.\w+;\n)*)`,
    String.raw` {4}\}\n\}\n`,
  ].join(''),
  'g',
);

/**
 * The errors of a client's `models/errors.js` and its base class import, or undefined when any part of the file is
 * not the shape above (the file is then bundled as it is: correct, only larger).
 */
export function parseModeledErrors(
  source: string,
): { readonly base: string; readonly from: string; readonly errors: ModeledError[] } | undefined {
  const header = BASE_IMPORT.exec(source);
  if (!header) return undefined;
  const errors: ModeledError[] = [];
  const body = source.slice(header[0].length);
  let rest = body;
  for (const match of body.matchAll(ERROR_CLASS)) {
    const [block, name, shapeId, ownName, fault, retryable, declared, superName, superFault, protoOf, assigned] =
      match as unknown as string[];
    const declaredFields = [...(declared ?? '').matchAll(/ {4}(\w+);/g)].map((field) => field[1] as string);
    const assignedFields = [...(assigned ?? '').matchAll(/this\.(\w+) = opts\.(\w+);/g)];
    const consistent =
      ownName === name &&
      superName === name &&
      protoOf === name &&
      superFault === fault &&
      shapeId?.endsWith(`#${name}`) &&
      assignedFields.every(([, to, from]) => to === from) &&
      assignedFields.map(([, to]) => to).join() === declaredFields.join();
    if (!consistent || !name || !shapeId || !fault) return undefined;
    errors.push({ name, shapeId, fault, ...(retryable ? { retryable } : {}), fields: declaredFields });
    rest = rest.replace(block as string, '');
  }
  // Anything else in the file (a class of another shape, a helper) would be lost: keep the file as it is.
  if (rest.trim() !== '' || errors.length === 0) return undefined;
  return { base: header[1] as string, from: header[2] as string, errors };
}

/** The compact `models/errors.js` (see the top of this file), or undefined when the source is not as expected. */
export function compactModeledErrors(source: string): string | undefined {
  const parsed = parseModeledErrors(source);
  if (!parsed) return undefined;
  // Every error of a client in the service's namespace (`com.amazonaws.kms#...`), written once.
  const namespace = parsed.errors[0]?.shapeId.split('#')[0] ?? '';
  if (parsed.errors.some((error) => error.shapeId !== `${namespace}#${error.name}`)) return undefined;
  const lines = [
    `import { ${parsed.base} as __BaseException } from ${JSON.stringify(parsed.from)};`,
    `const NAMESPACE = ${JSON.stringify(namespace)};`,
    // As the generated classes: the base sets name and $fault from the options, then the class's own fields
    // override them, so an instance always carries its class's name and fault.
    'const modeledError = (name, fault = "client", fields = [], retryable = undefined) => {',
    '  const ModeledError = class extends __BaseException {',
    '    static shapeId = `${NAMESPACE}#${name}`;',
    '    constructor(opts) {',
    '      super({ name, $fault: fault, ...opts });',
    '      this.name = name;',
    '      this.$fault = fault;',
    '      if (retryable) this.$retryable = { ...retryable };',
    '      Object.setPrototypeOf(this, ModeledError.prototype);',
    '      for (const field of fields) this[field] = opts[field];',
    '    }',
    '  };',
    '  Object.defineProperty(ModeledError, "name", { value: name });',
    '  return ModeledError;',
    '};',
  ];
  for (const error of parsed.errors) {
    // Trailing defaults left out: most errors are client faults without modeled fields.
    const args = [JSON.stringify(error.name), JSON.stringify(error.fault), JSON.stringify(error.fields)];
    if (error.retryable) args.push(error.retryable);
    else {
      if (error.fields.length === 0) args.pop();
      if (args.length === 2 && error.fault === 'client') args.pop();
    }
    // Pure: an error nothing registers or imports can still be left out.
    lines.push(`export const ${error.name} = /* @__PURE__ */ modeledError(${args.join(', ')});`);
  }
  return `${lines.join('\n')}\n`;
}

/** The `const _x = "..."` string constants of a schemas file. */
function stringConstants(source: string): Map<string, string> {
  const constants = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm))
    if (name && literal) constants.set(name, literal);
  return constants;
}

/**
 * A client's schemas file with the computed keys of its shape schemas (`[_hH]:`, where `const _hH = "httpHeader"`)
 * written as the string literals they stand for, except in error schemas (`[-3, ...]`). The same values; see the top
 * of this file for why.
 */
export function inlineSchemaTraitKeys(source: string): string {
  const constants = stringConstants(source);
  return source
    .split(/^(?=\S)/m)
    .map((statement) =>
      /^(export )?var \w+\$? = \[-3,/.test(statement)
        ? statement
        : // Only a key of an object literal (after `{` or `,`), and never `__proto__`, which as a literal key would
          // set the object's prototype instead.
          statement.replace(/([{,]\s*)\[(_\w+)\]:/g, (key: string, before: string, name: string) => {
            const literal = constants.get(name);
            return literal && literal !== '"__proto__"' ? `${before}${literal}:` : key;
          }),
    )
    .join('');
}

/** Stands in for the SDK's pure JavaScript SHA-256 (see the top of this file). */
export const SHA256_JS_STAND_IN = `export class Sha256Js {
  constructor() {
    throw new Error("The AWS SDK's JavaScript SHA-256 is not bundled (lib/sdk-compaction.ts): node:crypto has no SHA-256 here");
  }
}
`;

/** A client's `package.json` as the client reads it: its name and version (the user agent's). */
export function packageNameAndVersion(source: string): string {
  const { name, version } = JSON.parse(source) as { name?: unknown; version?: unknown };
  return JSON.stringify({ name, version });
}

/** The files of the AWS SDK's service clients this rewrites. */
export const SDK_CLIENT_FILES = {
  modeledErrors: /[\\/]@aws-sdk[\\/]client-[\w-]+[\\/]dist-es[\\/]models[\\/]errors\.js$/,
  schemas: /[\\/]@aws-sdk[\\/]client-[\w-]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/,
  packageJson: /[\\/]@aws-sdk[\\/]client-[\w-]+[\\/]package\.json$/,
  sha256Js: /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]checksum[\\/]sha256[\\/]Sha256Js\.js$/,
} as const;

/** The part of esbuild's plugin API this uses (no esbuild import: see above). */
export interface CompactionPlugin {
  readonly name: string;
  setup(build: {
    onLoad(
      options: { filter: RegExp },
      callback: (args: {
        path: string;
      }) => { contents: string; loader: 'js' | 'json' } | { warnings: { text: string }[] } | undefined,
    ): void;
  }): void;
}

/**
 * The esbuild plugin: compact modeled errors, tree-shakeable schemas and trimmed `package.json` files for every AWS
 * SDK client a bundle imports, and the SHA-256 stand-in. An errors file of a shape it does not know is bundled as it
 * is, with a build warning naming it.
 */
export function sdkCompaction(): CompactionPlugin {
  return {
    name: 'tvm-sdk-compaction',
    setup(build) {
      build.onLoad({ filter: SDK_CLIENT_FILES.modeledErrors }, ({ path }) => {
        const compact = compactModeledErrors(readFileSync(path, 'utf8'));
        if (compact !== undefined) return { contents: compact, loader: 'js' };
        return {
          warnings: [
            { text: `lib/sdk-compaction.ts: ${path} is not in the expected shape; bundled as it is (larger)` },
          ],
        };
      });
      build.onLoad({ filter: SDK_CLIENT_FILES.schemas }, ({ path }) => ({
        contents: inlineSchemaTraitKeys(readFileSync(path, 'utf8')),
        loader: 'js',
      }));
      build.onLoad({ filter: SDK_CLIENT_FILES.packageJson }, ({ path }) => ({
        contents: packageNameAndVersion(readFileSync(path, 'utf8')),
        loader: 'json',
      }));
      build.onLoad({ filter: SDK_CLIENT_FILES.sha256Js }, () => ({ contents: SHA256_JS_STAND_IN, loader: 'js' }));
    },
  };
}
