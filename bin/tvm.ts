// `tvm` process entry: runs the CLI in cli/ with this process's arguments, streams and environment.

import { main } from '../cli/main';

export { main } from '../cli/main';
export { EXIT, type Io } from '../cli/io';

/** Run with this process's arguments; `serve` keeps running until Ctrl-C. Sets the exit code, never throws. */
export function runFromProcess(): Promise<void> {
  return main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
  })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      // main reports every error itself; this is the last line of defence against a bug in it.
      process.stderr.write(`tvm: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}

if (require.main === module) void runFromProcess();
