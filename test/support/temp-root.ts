// One temporary directory per Jest run, removed when the run ends: every temporary file of the tests (the CDK's
// `cdk.out*` directories, s3rver's buckets, the CLI's and the servers' scratch files, those of the processes they
// start) goes under it, since Node.js's `os.tmpdir()` reads TMPDIR. Without it each `npm test` left a few hundred
// directories behind in /tmp. Jest runs this before it starts its workers, which inherit the environment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = 'TVM_TEST_TMP_ROOT';

export async function createTempRoot(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'tvm-test-run-'));
  process.env[ROOT] = root;
  process.env.TMPDIR = root;
}

export async function removeTempRoot(): Promise<void> {
  const root = process.env[ROOT];
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}
