import type { CliDeps } from './deps';
import type { ExitCode, Io } from './io';

/** What every command gets: the process view, the dependency factory, and a way to set the exit code. */
export interface CliContext {
  readonly io: Io;
  readonly deps: CliDeps;
  /** Set the exit code (default 0) without throwing, e.g. 3 when some tenants in a file are invalid. */
  setExitCode(code: ExitCode): void;
}
