/** `npm start` as a user runs it: a child process that prints its URL, serves tokens and stops cleanly on Ctrl-C. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

function waitForUrl(process: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ready line; output so far:\n${output}`)), 25_000);
    process.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    process.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    process.on('exit', (code) => reject(new Error(`exited with ${code} before ready:\n${output}`)));
  });
}

it('starts, prints the URL and a curl line, vends for demo, and exits 0 on SIGINT', async () => {
  child = spawn(
    process.execPath,
    [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'lambdas', 'local', 'start.ts')],
    {
      cwd: root,
      env: { ...process.env, PORT: '0', TVM_TENANTS_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = await waitForUrl(child);
  const response = await fetch(`${url}/v1/tenants/demo/token`);
  expect(response.status).toBe(200);
  expect(((await response.json()) as { idToken?: string }).idToken).toMatch(/^eyJ/);

  const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
}, 40_000);
