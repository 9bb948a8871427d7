import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';

import { Logger } from '@aws-lambda-powertools/logger';

import { usePlainProcessEnv } from '../../../lambdas/runtime/plain-process-env';

describe('usePlainProcessEnv', () => {
  const original = process.env;
  afterEach(() => {
    process.env = original;
  });

  it('keeps every variable, and later writes and deletes are what reads see', () => {
    process.env = { ...original, TVM_PLAIN_ENV_TEST: 'before' };
    const before = { ...process.env };
    usePlainProcessEnv();
    expect({ ...process.env }).toEqual(before);
    process.env.TVM_PLAIN_ENV_TEST = 'after';
    expect(process.env.TVM_PLAIN_ENV_TEST).toBe('after');
    delete process.env.TVM_PLAIN_ENV_TEST;
    expect(process.env.TVM_PLAIN_ENV_TEST).toBeUndefined();
    expect('TVM_PLAIN_ENV_TEST' in process.env).toBe(false);
  });

  it('copies once: a second call keeps the same object and its changes', () => {
    usePlainProcessEnv();
    const first = process.env;
    first.TVM_PLAIN_ENV_TEST = 'kept';
    usePlainProcessEnv();
    expect(process.env).toBe(first);
    expect(process.env.TVM_PLAIN_ENV_TEST).toBe('kept');
    expect(Object.keys(process.env)).not.toContain('token-vending-machine.plain-process-env');
  });

  it('child processes get the copy, with its changes, as their environment', () => {
    // In a process of its own: Jest gives each test file a process.env that child_process does not read.
    const script = [
      `require(${JSON.stringify(require.resolve('../../../lambdas/runtime/plain-process-env'))}).usePlainProcessEnv();`,
      "process.env.TVM_PLAIN_ENV_TEST = 'for the child';",
      "const { spawnSync } = require('node:child_process');",
      "const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(process.env.TVM_PLAIN_ENV_TEST)']);",
      'process.stdout.write(child.stdout);',
    ].join('\n');
    const parent = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
      encoding: 'utf8',
    });
    expect(parent.stderr).toBe('');
    expect(parent.stdout).toBe('for the child');
  });

  it("Powertools logs the trace id Lambda's runtime sets through process.env before each invocation", () => {
    usePlainProcessEnv();
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
    // Powertools writes through a console of its own: point it at the stream.
    (logger as unknown as { console: Console }).console = new console.Console({ stdout: stream, stderr: stream });
    for (const root of ['1-5759e988-bd862e3fe1be46a994272793', '1-6759e988-cd862e3fe1be46a994272794']) {
      process.env._X_AMZN_TRACE_ID = `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1`;
      logger.info('invocation');
      expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ xray_trace_id: root });
    }
  });
});
