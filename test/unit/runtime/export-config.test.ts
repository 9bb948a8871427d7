import { ConfigError } from '../../../lambdas/runtime/config';
import { loadExportConfig } from '../../../lambdas/runtime/export-config';

const job = {
  name: 'flight-analytics',
  tenant: 'acme',
  schedule: 'cron(15 * * * ? *)',
  graphqlUrl: 'https://api.example.com/graphql',
  query: 'query Analytics($from: String!, $to: String!) { analytics(from: $from, to: $to) { id } }',
  windowMinutes: 60,
};
const env = {
  TVM_ENDPOINT: 'https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/',
  TVM_EXPORT_BUCKET: 'tvm-exports-123',
  TVM_EXPORT_JOB: JSON.stringify(job),
};

describe('export function configuration', () => {
  it('reads the endpoint, bucket and job', () => {
    const config = loadExportConfig(env);
    expect(config).toMatchObject({ endpoint: env.TVM_ENDPOINT, bucket: 'tvm-exports-123' });
    expect(config.job).toMatchObject({ name: 'flight-analytics', tenant: 'acme' });
  });

  it.each([
    [{ TVM_ENDPOINT: undefined }, /TVM_ENDPOINT/],
    [{ TVM_ENDPOINT: 'not a url' }, /TVM_ENDPOINT/],
    [{ TVM_EXPORT_BUCKET: 'Bad_Bucket' }, /TVM_EXPORT_BUCKET: must be an S3 bucket name/],
    [{ TVM_EXPORT_JOB: '{' }, /TVM_EXPORT_JOB must be a JSON export job/],
    [{ TVM_EXPORT_JOB: JSON.stringify({ ...job, tenant: 'Not A Tenant' }) }, /TVM_EXPORT_JOB\.tenant/],
  ])('names the bad variable: %j', (override, message) => {
    expect(() => loadExportConfig({ ...env, ...override })).toThrow(message);
    expect(() => loadExportConfig({ ...env, ...override })).toThrow(ConfigError);
  });
});
