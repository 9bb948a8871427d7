// lib/builtin-imports.ts: a bundle's built-in imports go through process.getBuiltinModule(), each export read only
// when the bundle imports it (no ES facade reading every export, getters included), and the bundle still works.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { build } from 'esbuild';

import { builtinFacade, builtinImports } from '../../lib/builtin-imports';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-builtins-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(source: string): Promise<string> {
  writeFileSync(join(dir, 'entry.mjs'), source);
  const { outputFiles } = await build({
    entryPoints: [join(dir, 'entry.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    write: false,
    plugins: [builtinImports()],
  });
  return outputFiles[0]?.text ?? '';
}

it('reads only the exports a bundle imports, without a static import of any built-in', async () => {
  const code = await bundle(`
    import { env, versions } from 'node:process';
    import { createHash } from 'crypto';
    import fs, { readFileSync } from 'node:fs';
    export const run = async () => ({
      sha: createHash('sha256').update('x').digest('hex'),
      node: versions.node,
      home: typeof env.PATH,
      same: fs.readFileSync === readFileSync,
      http: typeof (await import('node:http')).request,
    });
  `);
  expect(code).not.toMatch(/from\s*"(node:)?(process|crypto|fs)"/);
  expect(code).toContain('process.getBuiltinModule("node:process")');
  // Exports nobody imports are never read: process.report and crypto.webcrypto are getters that load modules.
  expect(code).not.toMatch(/"report"|"webcrypto"|"promises"/);
  // A dynamic import stays one: loaded when it runs.
  expect(code).toMatch(/import\("node:http"\)/);
  const file = join(dir, 'out.mjs');
  writeFileSync(file, code);
  // Run in a Node.js process of its own (Jest's module system does not load ES modules).
  const script = `import(${JSON.stringify(pathToFileURL(file).href)}).then(async (m) => console.log(JSON.stringify(await m.run())))`;
  const ran = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(ran.stderr).toBe('');
  expect(JSON.parse(ran.stdout)).toEqual({
    sha: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',
    node: process.versions.node,
    home: 'string',
    same: true,
    http: 'function',
  });
});

it("lists a built-in's exports, each a pure read, and nothing named like its own helpers", () => {
  const facade = builtinFacade('fs');
  expect(facade).toContain('export const readFileSync = /* @__PURE__ */ $read("readFileSync");');
  expect(facade).toContain('export default $builtin;');
  expect(facade).not.toMatch(/export const \$/);
});
