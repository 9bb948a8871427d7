import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** This package's version, from the nearest package.json above this file (source tree and dist/ alike). */
export function packageVersion(start = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (json.name === 'token-vending-machine' && json.version) return json.version;
    } catch {
      // no package.json here: keep walking up
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}
