// The stand-in for `@smithy/core/event-streams` in the bundles of functions without event-stream operations
// (lib/bundle-settings.ts): it must export every name the SDK takes from its dynamic import of that module, and fail
// with a message that says why if an event-stream operation ever reaches it.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import * as standIn from '../../../lambdas/runtime/no-event-streams';

/** Every `.js` file under a folder. */
function scripts(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => join(folder, file));
}

/** The names the SDK destructures from `await import("@smithy/core/event-streams")`, by file. */
function dynamicImports(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const pattern = /const\s*\{([^}]*)\}\s*=\s*await import\("@smithy\/core\/event-streams"\)/g;
  for (const pkg of ['@smithy/core', '@aws-sdk/core']) {
    const root = dirname(require.resolve(`${pkg}/package.json`));
    for (const file of scripts(join(root, 'dist-es'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
        const names = (match[1] ?? '')
          .split(',')
          .map((name) => name.split(':')[0]?.trim() ?? '')
          .filter(Boolean);
        found.set(file, [...(found.get(file) ?? []), ...names]);
      }
    }
  }
  return found;
}

describe('no-event-streams', () => {
  it('exports every name the SDK loads from @smithy/core/event-streams on demand', () => {
    const imports = dynamicImports();
    // The SDK's HTTP protocols load it so (HttpProtocol.loadEventStreamCapability).
    expect(imports.size).toBeGreaterThan(0);
    for (const names of imports.values()) for (const name of names) expect(Object.keys(standIn)).toContain(name);
  });

  it('fails with a message that names the cause when an event-stream operation reaches it', () => {
    expect(() => new standIn.EventStreamSerde()).toThrow(/event streams are not bundled in this function/);
    expect(() => standIn.eventStreamSerdeProvider()).toThrow(/lib\/bundle-settings\.ts/);
  });
});
