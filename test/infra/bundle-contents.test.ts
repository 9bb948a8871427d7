// What the Lambda bundles must not carry (issue 14: bundle size and cold start), read from esbuild's metafile of each
// bundle built with the deployed settings: full zod (the runtime schemas use zod/mini), the old SRP helper with its
// crypto-js, jsbn and Buffer polyfill (srp-proof.ts does the arithmetic with BigInt and node:crypto), the
// credential providers Lambda never uses (SSO, INI files, processes), and the SDK's event-stream code in the
// functions whose clients have no event-stream operation. And what a cold start loads: the entry and the chunks it
// imports statically, without the sign-in code (lambdas/runtime/sign-in.ts), which has a chunk of its own.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build, type Metafile } from 'esbuild';

import { esbuildOptions, EVENT_STREAM_HANDLERS, loadedAtStart } from '../../lib/bundle-settings';

const FORBIDDEN: readonly [string, RegExp][] = [
  ['full zod (zod/v4/classic)', /node_modules\/zod\/v4\/classic\//],
  ['every zod locale but English', /node_modules\/zod\/v4\/locales\/(?!en\.js$)[^/]+$/],
  ['cognito-srp-helper', /node_modules\/cognito-srp-helper\//],
  ['crypto-js', /node_modules\/crypto-js\//],
  ['jsbn', /node_modules\/jsbn\//],
  ['the npm buffer polyfill', /node_modules\/(?:.*\/)?buffer\/index\.js$/],
  ['SSO, INI or process credential providers', /credential-provider-(?:sso|ini|process|node)\//],
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-bundle-contents-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The modules with code in the given outputs. */
function inputsOf(outputs: Metafile['outputs'][string][]): string[] {
  return outputs.flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  );
}

const SIGN_IN_CODE = [
  /^lambdas\/providers\//,
  /^lambdas\/adapters\/jwt-verifier\.ts$/,
  /node_modules\/aws-jwt-verify\//,
  /node_modules\/@aws-sdk\/client-cognito-identity(?:-provider)?\//,
];

describe.each(['vend', 'refresh', 'export'])('the %s bundle', (handler) => {
  let inputs: string[];
  let atStart: string[];
  let code: string;
  let entry: string;
  let warnings: string[];
  beforeAll(async () => {
    const result = await build({
      ...esbuildOptions(handler, join(dir, handler)),
      metafile: true,
      logLevel: 'silent',
    });
    const metafile = result.metafile as Metafile;
    warnings = result.warnings.map((warning) => warning.text);
    inputs = inputsOf(Object.values(metafile.outputs));
    atStart = inputsOf(loadedAtStart(metafile).map((path) => metafile.outputs[path] as Metafile['outputs'][string]));
    code = Object.keys(metafile.outputs)
      .filter((path) => path.endsWith('.mjs'))
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    entry = readFileSync(join(dir, handler, 'index.mjs'), 'utf8');
  }, 120_000);

  it('is built from the handler and its dependencies', () => {
    expect(inputs).toContain(`lambdas/handlers/${handler}.ts`);
    expect(inputs.some((path) => path.includes('node_modules/zod/v4/mini/'))).toBe(true);
  });

  it.each(FORBIDDEN)('carries no %s', (_what, pattern) => {
    expect(inputs.filter((path) => pattern.test(path))).toEqual([]);
  });

  it('is an ES module that calls no CommonJS require, which an ES module does not have', () => {
    // Lambda's runtime imports index.mjs and calls its export `handler`.
    expect(/export\s*\{[^}]*\bas handler\s*\}/.test(entry)).toBe(true);
    // esbuild's stand-in for a require() it could not bundle throws "Dynamic require of ... is not supported".
    expect(code.includes('Dynamic require of')).toBe(false);
    expect(/\bmodule\.exports\b/.test(entry)).toBe(false);
  });

  if (handler !== 'export')
    it('starts without the sign-in code, which it loads on first use', () => {
      expect(atStart).toContain(`lambdas/handlers/${handler}.ts`);
      expect(atStart.filter((path) => SIGN_IN_CODE.some((pattern) => pattern.test(path)))).toEqual([]);
      expect(inputs).toContain('lambdas/runtime/sign-in.ts');
      expect(inputs).toContain('lambdas/providers/cognito.ts');
      expect(inputs.some((path) => path.includes('node_modules/aws-jwt-verify/'))).toBe(true);
    });

  it('carries the AWS SDK clients compacted (lib/sdk-compaction.ts): short error classes, only the shapes it uses', () => {
    // A client file the compaction could not read is bundled as it is, with a warning.
    expect(warnings).toEqual([]);
    // The generated classes would name their shape in full, once per error ("com.amazonaws.kms#AlreadyExists...").
    expect(code.match(/shapeId\s*=\s*"com\.amazonaws\.[\w.]+#\w+"/g) ?? []).toEqual([]);
    expect(inputs.filter((path) => /node_modules\/(?:mnemonist|obliterator)\//.test(path))).toEqual([]);
    // DynamoDB's endpoint discovery is its settings only (lambdas/runtime/no-endpoint-discovery.ts): sound only while
    // no bundled SDK code adds the discovery middleware that would read them.
    expect(
      inputs.filter((path) => /node_modules\/@aws-sdk\/(?:middleware-endpoint-discovery|endpoint-cache)\//.test(path)),
    ).toEqual([]);
    expect(code).not.toMatch(/getEndpointDiscovery(?:Required|Optional)?Plugin|endpointDiscoveryMiddleware/);
    expect(inputs.filter((path) => path.endsWith('checksum/sha256/Sha256Js.js'))).toEqual(
      inputs.some((path) => path.includes('@smithy/core/dist-es/submodules/checksum/')) ? [expect.any(String)] : [],
    );
    expect(code.includes("The AWS SDK's JavaScript SHA-256 is not bundled")).toBe(
      inputs.some((path) => path.endsWith('checksum/sha256/Sha256Js.js')),
    );
    // S3's schemas name their HTTP bindings with computed keys; written as literals, the unused shapes go.
    if (handler === 'export') {
      expect(code).toContain('PutObject');
      expect(code).not.toContain('GetBucketLifecycleConfiguration');
    }
  });

  if (handler === 'refresh')
    it('leaves the HTTP API out: the refresher composes the services alone', () => {
      expect(inputs).not.toContain('lambdas/core/api.ts');
      expect(inputs).not.toContain('lambdas/core/presenter.ts');
    });

  it('carries the SDK event-stream code only if one of its clients needs it', () => {
    const eventStreams = inputs.filter((path) => path.includes('@smithy/core/dist-es/submodules/event-streams/'));
    const standIn = inputs.includes('lambdas/runtime/no-event-streams.ts');
    if (EVENT_STREAM_HANDLERS.has(handler)) {
      expect(eventStreams).not.toEqual([]);
      expect(standIn).toBe(false);
    } else {
      expect(eventStreams).toEqual([]);
      expect(standIn).toBe(true);
    }
  });
});
