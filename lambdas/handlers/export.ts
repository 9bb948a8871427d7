// Lambda entry point of one analytics export job (EventBridge Scheduler), configured by TVM_ENDPOINT,
// TVM_EXPORT_BUCKET and the job: the JSON file TVM_EXPORT_JOB_FILE names (shipped in a layer by the stack),
// or TVM_EXPORT_JOB (local runs). Validated at start-up.
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { TokenClient } from '../../client/token-client';
import { ENV } from '../../contract/names';
import { ExportRunner } from '../export/export-runner';
import { exportJobJson } from '../export/job-file';
import { loadExportConfig } from '../runtime/export-config';
import { createExportHandler } from './export-handler';
import { createObservability } from './observability';

const observability = createObservability();
const config = loadExportConfig({ ...process.env, [ENV.exportJob]: exportJobJson(process.env) });
const runner = new ExportRunner({
  tokens: new TokenClient({ endpoint: config.endpoint }),
  // Timeouts that fire (an 8 MiB part gets a minute), and a few attempts per S3 call.
  s3: new S3Client({
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 3_000,
      requestTimeout: 60_000,
      throwOnRequestTimeout: true,
    }),
    maxAttempts: 3,
  }),
  bucket: config.bucket,
});

export const handler = createExportHandler({ job: config.job, runner }, observability);
