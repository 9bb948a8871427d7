// `npm run build`, second step: prebuilt Lambda bundles in dist/bundles/<handler>/ (index.mjs and its chunks), made with the
// same esbuild settings as the CDK constructs use. The installed package's constructs deploy these, so a
// consumer's `cdk synth` needs neither esbuild nor Docker nor the TypeScript sources.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { build } from 'esbuild';

import { BUNDLE_SETTINGS, bundleDir, esbuildOptions } from '../lib/bundle-settings';

const handlersDir = join(__dirname, '..', 'lambdas', 'handlers');

/** Every module under lambdas/handlers that exports a Lambda `handler`. */
function handlerNames(): string[] {
  return readdirSync(handlersDir)
    .filter((file) => file.endsWith('.ts'))
    .filter((file) =>
      /export (const|async function|function) handler\b/.test(readFileSync(join(handlersDir, file), 'utf8')),
    )
    .map((file) => file.replace(/\.ts$/, ''));
}

async function main(): Promise<void> {
  for (const name of handlerNames()) {
    const dir = bundleDir(name);
    await build({ ...esbuildOptions(name), logLevel: 'warning' });
    process.stdout.write(`bundled ${name} -> ${join(dir, BUNDLE_SETTINGS.outputFile)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
