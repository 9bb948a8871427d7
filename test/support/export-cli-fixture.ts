// What the `tvm export` CLI tests share: the local token server, the loopback REST upstream, s3rver with an
// `exports` bucket, a deployment config (the example's, with one REST job `users` of tenant demo-rest on that
// upstream), and a `tvm` runner whose S3 client points at s3rver.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';

import { defaultDeps } from '../../cli/deps';
import { main } from '../../cli/main';
import { startLocalService, type LocalService } from '../../lambdas/local/local-service';
import { startExportUpstream, type ExportUpstream } from './export-upstream';
import { startS3rver } from './s3rver';

export interface ExportCliFixture {
  /** A scratch folder of this fixture (the config lives in it). */
  readonly dir: string;
  readonly service: LocalService;
  readonly upstream: ExportUpstream;
  readonly s3: S3Client;
  readonly s3Endpoint: string;
  readonly configPath: string;
  /** Run the CLI in-process: exit code and what it wrote. */
  tvm(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startExportCliFixture(
  recordsPerWindow: (from: string, to: string) => number,
): Promise<ExportCliFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tvm-export-cli-'));
  const service = await startLocalService({ port: 0 });
  const upstream = await startExportUpstream({ recordsPerWindow });
  const s3rver = await startS3rver(['exports']);
  const s3Endpoint = s3rver.endpoint;
  const s3 = new S3Client({
    endpoint: s3Endpoint,
    region: 'ap-southeast-2',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'example.json'), 'utf8'));
  const configPath = join(dir, 'deploy.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...example,
      exportJobs: [
        {
          name: 'users',
          tenant: 'demo-rest',
          schedule: 'rate(1 hour)',
          kind: 'rest',
          baseUrl: upstream.url,
          path: '/v1/records/page',
          query: { from: '{from}', to: '{to}' },
          itemsPath: 'data',
          pagination: { type: 'page', size: 250 },
        },
      ],
    }),
  );
  const tvm = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (t: string) => void (stdout += t),
      stderr: (t: string) => void (stderr += t),
      isTTY: false,
      env: { AWS_REGION: 'ap-southeast-2' },
    };
    const code = await main(argv, io, { ...defaultDeps(io), s3: () => s3 });
    return { code, stdout, stderr };
  };
  return {
    dir,
    service,
    upstream,
    s3,
    s3Endpoint,
    configPath,
    tvm,
    close: async () => {
      s3.destroy();
      await service.close();
      await s3rver.close();
      await upstream.close();
    },
  };
}
