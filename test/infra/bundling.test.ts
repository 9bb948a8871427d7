import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { BUNDLE_SETTINGS } from '../../lib/bundle-settings';
import { exampleConfig, synth } from './support';

describe('bundling', () => {
  it('bundles the vend function for real (esbuild, no Docker) and records its size', () => {
    const { stack: bundled } = synth(exampleConfig, { bundle: true, validate: true });
    const assembly = App.of(bundled)?.synth();
    const fn = Object.values(Template.fromStack(bundled).findResources('AWS::Lambda::Function')).find((f) =>
      f.Properties.Description.startsWith('Vends'),
    );
    const assetHash = String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '');
    const file = join(assembly?.directory ?? '', `asset.${assetHash}`, BUNDLE_SETTINGS.outputFile);
    const bytes = statSync(file).size;
    const code = readFileSync(file, 'utf8');
    expect(code).toContain('handler');
    // CommonJS (Lambda requires it), with the SDK tree-shaken from its ES module entry points: no unused commands.
    expect(code).toContain('module.exports');
    expect(code).not.toMatch(/^import /m);
    expect(code).not.toContain('ListTablesCommand');
    // The credential chain Lambda needs only: no SSO or INI-file providers inside.
    expect(code).not.toContain('credential-provider-sso');
    expect(code).not.toContain('fromIni');
    // The SDK's event-stream module replaced by its stand-in (lib/bundle-settings.ts), as in the prebuilt bundles.
    expect(code).toContain('AWS SDK event streams are not bundled in this function');
    expect(bytes).toBeGreaterThan(10_000);
    console.info(`vend bundle: ${bytes} bytes (${(bytes / 1024).toFixed(0)} KiB) minified CommonJS, AWS SDK included`);
  }, 180_000); // esbuild bundles three functions; a loaded 2-core CI machine needs more than a minute
});
