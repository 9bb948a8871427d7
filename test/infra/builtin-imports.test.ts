// lib/builtin-imports.ts: a bundle's `node:process` imports read only the names they use from the global `process`
// (no ES facade reading every export, `process.report` included), the bundle still works, and it does not depend on
// the Node.js that builds it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { build } from 'esbuild';

import { builtinImports, PROCESS_EXPORTS } from '../../lib/builtin-imports';

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
    logLevel: 'silent',
    plugins: [builtinImports()],
  });
  return outputFiles[0]?.text ?? '';
}

/** Runs `code` (an ES module exporting `run`) in a Node.js process of its own: Jest does not load ES modules. */
function run(code: string): unknown {
  const file = join(dir, 'out.mjs');
  writeFileSync(file, code);
  const script = `import(${JSON.stringify(pathToFileURL(file).href)}).then(async (m) => console.log(JSON.stringify(await m.run())))`;
  const ran = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(ran.stderr).toBe('');
  return JSON.parse(ran.stdout);
}

it('reads only the names a bundle imports from node:process, and leaves other built-ins alone', async () => {
  const code = await bundle(`
    import { env, versions } from 'node:process';
    import proc from 'process';
    import { createHash } from 'node:crypto';
    export const run = async () => ({
      node: versions.node,
      path: typeof env.PATH,
      same: proc === globalThis.process && proc.env === env,
      sha: createHash('sha256').update('x').digest('hex').slice(0, 8),
    });
  `);
  expect(code).not.toMatch(/from\s*"(node:)?process"/);
  // Names nobody imports are never read: process.report is a getter that loads a module.
  expect(code).not.toMatch(/"report"|"stdout"/);
  expect(code).toMatch(/from\s*"node:crypto"/);
  expect(run(code)).toEqual({ node: process.versions.node, path: 'string', same: true, sha: '2d711642' });
});

it('fails the build naming a name that is not in the list, rather than reading undefined', async () => {
  await expect(
    bundle(`import { noSuchName } from 'node:process'; export const run = () => noSuchName;`),
  ).rejects.toThrow(/No matching export in "tvm-builtin:process" for import "noSuchName"/);
});

it("lists every public name of this Node.js's process, as its ES facade exports them", () => {
  const listed = spawnSync(
    process.execPath,
    ['-e', 'import("node:process").then((m) => console.log(JSON.stringify(Object.keys(m))))'],
    { encoding: 'utf8' },
  );
  const internal = new Set(['assert', 'binding', 'domain', 'moduleLoadList', 'openStdin', 'reallyExit']);
  const facade = (JSON.parse(listed.stdout) as string[]).filter(
    (name) => name !== 'default' && !name.startsWith('_') && !internal.has(name),
  );
  expect(facade.filter((name) => !(PROCESS_EXPORTS as readonly string[]).includes(name))).toEqual([]);
});
