import { CommanderError } from 'commander';

import type { CliContext } from './context';
import { defaultDeps, type CliDeps } from './deps';
import { reportError } from './errors';
import { EXIT, type ExitCode, type Io } from './io';
import { UnquotedArgumentError } from './options';
import { buildProgram } from './program';

/** commander's own exits: help and version are successes, everything else it rejects is a usage error. */
function commanderExit(error: CommanderError): ExitCode {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage;
}

/** Run the CLI with `argv` (without node and script); returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io, deps: CliDeps = defaultDeps(io)): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const ctx: CliContext = { io, deps, setExitCode: (code) => (exitCode = code) };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof UnquotedArgumentError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CommanderError) return commanderExit(error);
    return reportError(error, io);
  }
}
