// Where a deployed export function finds its job: a JSON file shipped in a Lambda layer (`/opt/...`), named
// by TVM_EXPORT_JOB_FILE, so long queries and many options never meet Lambda's 4 KB environment limit.
// TVM_EXPORT_JOB (the JSON itself) still works for local runs and tests.
import { readFileSync } from 'node:fs';

import { ENV } from '../../contract/names';

/** Directory inside the layer, and the file name: the function reads `/opt/<dir>/<file>`. */
export const JOB_FILE_IN_LAYER = { dir: 'tvm', file: 'export-job.json' } as const;
export const JOB_FILE_PATH = `/opt/${JOB_FILE_IN_LAYER.dir}/${JOB_FILE_IN_LAYER.file}`;

/** The job's JSON: the file TVM_EXPORT_JOB_FILE names, else TVM_EXPORT_JOB; undefined when neither is set. */
export function exportJobJson(env: Record<string, string | undefined>): string | undefined {
  const file = env[ENV.exportJobFile];
  return file ? readFileSync(file, 'utf8') : env[ENV.exportJob];
}
