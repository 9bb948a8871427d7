import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { BUNDLE_SETTINGS } from '../../lib/bundle-settings';
import { exampleConfig, synth } from './support';

describe('bundling', () => {
  it('bundles the vend function for real (the project esbuild, no Docker) and records its size', () => {
    const { stack: bundled } = synth(exampleConfig, { bundle: true, validate: true });
    const assembly = App.of(bundled)?.synth();
    const fn = Object.values(Template.fromStack(bundled).findResources('AWS::Lambda::Function')).find((f) =>
      f.Properties.Description.startsWith('Vends'),
    );
    const assetHash = String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '');
    const asset = join(assembly?.directory ?? '', `asset.${assetHash}`);
    const file = join(asset, BUNDLE_SETTINGS.outputFile);
    const bytes = statSync(file).size;
    const code = readFileSync(file, 'utf8');
    // An ES module (Lambda imports index.mjs) exporting the handler, beside the chunks it loads, with source maps.
    expect(fn?.Properties.Handler).toBe('index.handler');
    expect(/export\s*\{[^}]*\bas handler\s*\}/.test(code)).toBe(true);
    const files = readdirSync(asset);
    expect(files.filter((name) => /^sign-in-\w+\.mjs$/.test(name))).toHaveLength(1);
    expect(files).toContain(`${BUNDLE_SETTINGS.outputFile}.map`);
    const everything = files
      .filter((name) => name.endsWith('.mjs'))
      .map((name) => readFileSync(join(asset, name), 'utf8'))
      .join('\n');
    // The SDK tree-shaken from its ES module entry points: no unused commands.
    expect(everything.includes('ListTablesCommand')).toBe(false);
    // The credential chain Lambda needs only: no SSO or INI-file providers inside.
    expect(everything.includes('credential-provider-sso')).toBe(false);
    expect(everything.includes('fromIni')).toBe(false);
    // The SDK's event-stream module replaced by its stand-in (lib/bundle-settings.ts), as in the prebuilt bundles.
    expect(everything.includes('AWS SDK event streams are not bundled in this function')).toBe(true);
    expect(bytes).toBeGreaterThan(10_000);
    console.info(`vend bundle: ${bytes} bytes (${(bytes / 1024).toFixed(0)} KiB) entry, ${files.length} files`);
  }, 180_000); // esbuild bundles three functions; a loaded 2-core CI machine needs more than a minute
});
