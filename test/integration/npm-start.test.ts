// `npm start` and `tvm serve` as a user, a process manager or CI runs them: a child process that prints its URL,
// serves tokens and stops completely on SIGTERM or SIGINT sent to the process that was started (npm itself for
// `npm start`); a failed start is one line naming PORT. Each run gets its own TMPDIR, which must hold nothing of
// ours afterwards (tsx keeps its compile cache `tsx-<uid>` there by design; it is shared across runs).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const children: ChildProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'tvm-npm-start-'));
const runTmp = mkdtempSync(join(scratch, 'tmp-'));

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function start(command: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, TMPDIR: runTmp, TVM_TENANTS_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function readyUrl(started: Started): Promise<string> {
  for (let waited = 0; waited < 40_000; waited += 100) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(started.output());
    if (match?.[1]) return match[1];
    if (started.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ready line; output so far:\n${started.output()}`);
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether the port stops accepting connections within `ms`. */
async function closesWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await portAccepts(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !(await portAccepts(port));
}

/** What is left in the run's TMPDIR besides tsx's compile cache. */
const leftovers = () => readdirSync(runTmp).filter((name) => !/^tsx-\d+$/.test(name));

it('npm start: serves demo tokens; SIGTERM to npm closes the port within 2 s and leaves no temp directory', async () => {
  const started = start('npm', ['start', '--silent'], { PORT: '0' });
  const url = await readyUrl(started);
  expect(started.output()).toMatch(/try: curl -s 'http:\/\/127\.0\.0\.1:\d+\/v1\/tenants\/demo\/token\?minTtl=300'/);
  expect(leftovers()).toEqual([expect.stringMatching(/^tvm-cognito-/)]);
  const response = await fetch(`${url}/v1/tenants/demo/token`);
  expect(response.status).toBe(200);
  expect(((await response.json()) as { idToken?: string }).idToken).toMatch(/^eyJ/);

  // A request that emits no metrics: no per-request metrics warning either.
  expect((await fetch(`${url}/v1/health`)).status).toBe(200);
  started.child.kill('SIGTERM');
  expect(await closesWithin(Number(new URL(url).port), 2000)).toBe(true);
  expect(await started.exited).toBe(0);
  expect(leftovers()).toEqual([]);
  expect(started.output()).not.toMatch(/No application metrics to publish/);
}, 60_000);

it('tvm serve (the development checkout, through tsx) signs in and serves a demo token', async () => {
  // The sign-in code is loaded with a dynamic import() (lambdas/runtime/compose.ts): tsx's ES module hook must be on.
  const started = start(process.execPath, [join(root, 'bin', 'tvm-bin.js'), 'serve'], { PORT: '0' });
  const url = await readyUrl(started);
  const response = await fetch(`${url}/v1/tenants/demo/token`);
  expect(response.status).toBe(200);
  expect(((await response.json()) as { idToken?: string }).idToken).toMatch(/^eyJ/);
  started.child.kill('SIGTERM');
  expect(await started.exited).toBe(0);
}, 60_000);

it('tvm serve: a port in use is one line naming PORT; what started before is stopped and removed', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  try {
    // Demo mode: cognito-local (and its temp directory) is up before the port turns out to be taken.
    const started = start(process.execPath, [join(root, 'bin', 'tvm-bin.js'), 'serve'], { PORT: String(port) });
    expect(await started.exited).toBe(1);
    const lines = started
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '' && !/^npm (warn|error)/.test(line));
    // One line: the CLI's own error prefix, then the message naming PORT.
    expect(lines).toEqual([
      `error: PORT ${port} is already in use on 127.0.0.1: stop the other server, or set PORT to a free port (PORT=0 picks one).`,
    ]);
    expect(leftovers()).toEqual([]);
  } finally {
    blocker.close();
  }
}, 60_000);

it('a bad PORT is one line naming PORT', async () => {
  const started = start('npm', ['start', '--silent'], { PORT: 'eighty' });
  expect(await started.exited).toBe(1);
  expect(started.output()).toContain(
    "token-vending-machine failed to start: PORT must be a port number from 0 to 65535 (0 picks a free one), not 'eighty'.",
  );
  expect(leftovers()).toEqual([]);
}, 60_000);
