// Lambda entry point of one analytics export job (EventBridge Scheduler), configured by TVM_EXPORT_JOB,
// TVM_ENDPOINT and TVM_EXPORT_BUCKET (validated at start-up).
import { S3Client } from '@aws-sdk/client-s3';

import { TokenClient } from '../../client/token-client';
import { ExportRunner } from '../export/export-runner';
import { loadExportConfig } from '../runtime/export-config';
import { createExportHandler } from './export-handler';
import { createObservability } from './observability';

const observability = createObservability();
const config = loadExportConfig(process.env);
const runner = new ExportRunner({
  tokens: new TokenClient({ endpoint: config.endpoint }),
  s3: new S3Client({}),
  bucket: config.bucket,
});

export const handler = createExportHandler({ job: config.job, runner }, observability);
