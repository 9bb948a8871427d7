// `npm start`: run the service locally and print how to call it.

import { ENV, SERVICE_NAME } from '../../contract/names';
import { resolvePort } from './local-start';

// cognito-local still loads the AWS SDK v2, whose end-of-support notice is noise here.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
// Local mode runs on Node 20 too; the SDK's advice to move to Node 22 is in the README instead.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** How long a stop may take before the process exits anyway (the port closes with the process). */
const STOP_GRACE_MS = 1500;

/**
 * Start local mode, print the ready lines, and stop completely on SIGINT or SIGTERM: the server and every
 * embedded upstream close, temporary directories are removed, and the process exits (0), at the latest after
 * STOP_GRACE_MS; a second signal exits at once. `npm start` and `tvm serve` both run this, in one process.
 * A start that fails (bad PORT, port in use, unusable tenants file) stops what it started and throws
 * LocalStartError, whose message is one line naming what to fix.
 */
export async function serve(): Promise<void> {
  const started = Date.now();
  // A bad PORT fails before anything heavy is loaded or started.
  resolvePort(undefined, process.env.PORT);
  // Loaded after the environment above is set: cognito-local reads it at import time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startLocalService } = require('./local-service') as typeof import('./local-service');
  const service = await startLocalService();

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`${signal}: shutting down\n`);
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const tenant = service.tenantIds.includes('demo') ? 'demo' : (service.tenantIds[0] ?? '<tenant>');
  const lines = [
    `${SERVICE_NAME} listening on ${service.url} (ready in ${Date.now() - started} ms)`,
    service.upstreams
      ? `  embedded upstreams: cognito-local ${service.upstreams.cognito.endpoint} (tenant demo), login endpoint ${service.upstreams.loginEndpoint.baseUrl} (tenant demo-rest), OAuth2 token endpoint ${service.upstreams.oauth2.tokenUrl} (tenant demo-oauth2)`
      : `  tenants from ${process.env[ENV.tenantsFile]}: ${service.tenantIds.join(', ') || '(none)'}`,
    ...service.tenantProblems.map(({ message }) => `  warning: ${message}`),
    service.dynamo
      ? `  shared cache: dynalite ${service.dynamo.endpoint} (table ${service.dynamo.tableName})`
      : `  shared cache: off (${ENV.localSharedCache}=true runs an in-process dynalite)`,
    `  try: curl -s '${service.url}/v1/tenants/${tenant}/token?minTtl=300'`,
    '  stop: Ctrl-C',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) {
  serve().catch((error: unknown) => {
    process.stderr.write(
      `${SERVICE_NAME} failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
