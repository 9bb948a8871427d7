// Temporary directories of local mode (cognito-local's data directory): removed when their owner closes, and
// in any case when the process exits (normal exit, process.exit after a signal, a failed start, an uncaught
// error), so no run leaves a directory behind. Only SIGKILL skips the exit hook.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** Create a directory under the OS temp dir (`<prefix>XXXXXX`) that is removed at the latest when the process exits. */
export function makeTempDir(prefix: string): string {
  if (!hooked) {
    process.once('exit', removeAll);
    hooked = true;
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  live.add(dir);
  return dir;
}

/** Remove a directory made by {@link makeTempDir} now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}
