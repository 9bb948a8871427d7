// The `tvm` CLI as a library: `main(argv, io, deps?)` returns the exit code.
export { main } from './main';
export { EXIT, type ExitCode, type Io } from './io';
export type { CliDeps, AwsTarget } from './deps';
export { defaultDeps } from './deps';
