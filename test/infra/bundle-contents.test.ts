// What the Lambda bundles must not carry (issue 14: bundle size and cold start), read from esbuild's metafile of each
// bundle built with the deployed settings: full zod (the runtime schemas use zod/mini), the old SRP helper with its
// crypto-js, jsbn and Buffer polyfill (srp-proof.ts does the arithmetic with BigInt and node:crypto), the
// credential providers Lambda never uses (SSO, INI files, processes), and the SDK's event-stream code in the
// functions whose clients have no event-stream operation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build, type Metafile } from 'esbuild';

import { BUNDLE_SETTINGS, esbuildOptions, EVENT_STREAM_HANDLERS } from '../../lib/bundle-settings';

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

describe.each(['vend', 'refresh', 'export'])('the %s bundle', (handler) => {
  let inputs: string[];
  beforeAll(async () => {
    const result = await build({
      ...esbuildOptions(handler, join(dir, handler, BUNDLE_SETTINGS.outputFile)),
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint);
    inputs = Object.entries(output?.inputs ?? {})
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
  }, 120_000);

  it('is built from the handler and its dependencies', () => {
    expect(inputs).toContain(`lambdas/handlers/${handler}.ts`);
    expect(inputs.some((path) => path.includes('node_modules/zod/v4/mini/'))).toBe(true);
  });

  it.each(FORBIDDEN)('carries no %s', (_what, pattern) => {
    expect(inputs.filter((path) => pattern.test(path))).toEqual([]);
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
