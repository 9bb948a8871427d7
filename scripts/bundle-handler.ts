// Bundles one handler for the CDK's local bundling (lib/tvm-function.ts runs this in a child process, since the CDK
// asks for a bundle synchronously and esbuild runs plugins only in its asynchronous API). Built as `npm run build`
// builds it (for dist/bundles/<name>, maps included: esbuild's chunk names hash them), so the files are byte for byte
// the same; then written to the asset folder, the maps only if they are deployed.
//   tsx scripts/bundle-handler.ts <handler> <output folder> <true|false: source maps>

import { build } from 'esbuild';

import { esbuildOptions, writeBundle } from '../lib/bundle-settings';

async function main(): Promise<void> {
  const [handlerName, outputDir, sourceMaps] = process.argv.slice(2);
  if (!handlerName || !outputDir || (sourceMaps !== 'true' && sourceMaps !== 'false'))
    throw new Error('usage: bundle-handler.ts <handler> <output folder> <true|false>');
  const { outputFiles } = await build({ ...esbuildOptions(handlerName), write: false, logLevel: 'warning' });
  writeBundle(outputFiles, outputDir, sourceMaps === 'true');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
