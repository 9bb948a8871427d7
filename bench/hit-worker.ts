// The cache-hit measurement, in a child process whose stdout is /dev/null (as a log destination, the write is
// real): the vend handler as deployed (withObservability + Powertools logger and metrics, EMF flushed per invocation,
// Lambda environment), and beside it a hand-written handler doing the same work. Results go back over IPC.
import { createHash } from 'node:crypto';

import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

import { DEFAULT_SECRET_PREFIX, ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names';
import { StaticTenantStore } from '../lambdas/adapters/file-tenant-store';
import { createHttpHandler } from '../lambdas/handlers/http-handler';
import { createObservability, vendorEventSink } from '../lambdas/handlers/observability';
import { composeRuntime } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import { usePlainProcessEnv } from '../lambdas/runtime/plain-process-env';
import { apiEvent, BENCH_PRINCIPAL, fakeSession, lambdaContext, percentile, round, StaticProvider } from './support';

const ITERATIONS = 50_000;
const WARM_UP = 5_000;

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

async function time(handler: Handler, event: APIGatewayProxyEvent) {
  for (let i = 0; i < WARM_UP; i++) await handler(event, lambdaContext);
  const samples = new Float64Array(ITERATIONS);
  const started = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = process.hrtime.bigint();
    await handler(event, lambdaContext);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort();
  return {
    p50: round(percentile(samples, 50)),
    p99: round(percentile(samples, 99)),
    ops: Math.round(ITERATIONS / totalS),
  };
}

/** Lines one invocation writes to stdout, and whether one is an EMF document: proof that the work is done. */
async function linesOf(handler: Handler, event: APIGatewayProxyEvent) {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  let status = 0;
  try {
    status = (await handler(event, lambdaContext)).statusCode;
  } finally {
    process.stdout.write = write;
  }
  return { status, lines: lines.length, emf: lines.filter((line) => line.includes('"_aws"')).length };
}

/** The floor: what a careful hand-written handler does for a hit (parse, policy, cache, present, audit, metric). */
function handWritten(): Handler {
  const tenantPattern = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
  const policy = new Map([[BENCH_PRINCIPAL, new Set(['*'])]]);
  const cache = new Map([['acme', { ...fakeSession('acme'), secretVersion: 'v1' }]]);
  const json = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  const refuse = (statusCode: number, code: string) => ({
    statusCode,
    headers: json,
    body: JSON.stringify({ error: { code, message: code }, requestId: 'bench' }),
  });
  return async (event, context) => {
    const tenantId = event.pathParameters?.tenantId ?? '';
    if (!tenantPattern.test(tenantId)) return refuse(400, 'invalid_request');
    const query = event.queryStringParameters ?? {};
    for (const name of Object.keys(query)) if (name !== 'minTtl') return refuse(400, 'invalid_request');
    const minTtl = query.minTtl === undefined ? 300 : Number(query.minTtl);
    if (!Number.isInteger(minTtl) || minTtl < 0 || minTtl > 3600) return refuse(400, 'invalid_request');
    const caller = (event.requestContext.identity as { userArn?: string }).userArn ?? '';
    const tenants = policy.get(caller);
    if (!tenants || !(tenants.has('*') || tenants.has(tenantId))) return refuse(403, 'forbidden');
    const session = cache.get(tenantId);
    const now = Math.floor(Date.now() / 1000);
    if (!session || session.expiresAt - now < minTtl + 30) return refuse(503, 'upstream_unavailable');
    const body = JSON.stringify({
      tenantId,
      provider: session.provider,
      idToken: session.tokens.idToken,
      accessToken: session.tokens.accessToken,
      expiresAt: new Date(session.expiresAt * 1000).toISOString(),
      expiresIn: session.expiresAt - now,
      headers: { authorization: session.tokens.idToken },
      claims: { 'custom:companyId': session.claims['custom:companyId'] },
    });
    const fingerprint = createHash('sha256').update(session.tokens.idToken).digest('hex').slice(0, 16);
    process.stdout.write(
      `${JSON.stringify({ level: 'INFO', message: 'token vended', timestamp: new Date().toISOString(), service: SERVICE_NAME, requestId: context.awsRequestId, caller, tenantId, cache: 'hit', fingerprint })}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: 'CacheHit', Unit: 'Count' }] }] }, service: SERVICE_NAME, CacheHit: 1 })}\n`,
    );
    return { statusCode: 200, headers: json, body };
  };
}

async function main(): Promise<void> {
  usePlainProcessEnv(); // as lambdas/handlers/vend.ts does before it composes the handler
  const observability = createObservability();
  const secret = {
    provider: 'cognito',
    region: 'ap-southeast-2',
    userPoolId: 'ap-southeast-2_AbC123',
    clientId: 'client',
    username: 'u',
    password: 'p',
    claims: ['custom:companyId'],
  };
  const runtime = composeRuntime(loadRuntimeConfig({ ...process.env, [ENV.secretPrefix]: DEFAULT_SECRET_PREFIX }), {
    tenants: new StaticTenantStore({ acme: secret }),
    shared: null,
    providers: { cognito: new StaticProvider() },
    onEvent: vendorEventSink(observability),
  });
  const deployed = createHttpHandler(runtime, observability) as unknown as Handler;
  const floor = handWritten();
  const event = apiEvent('acme');
  await deployed(event, lambdaContext); // the first one signs in (statically) and fills L1
  const deployedLines = await linesOf(deployed, event);
  const floorLines = await linesOf(floor, event);
  const hit = await time(deployed, event);
  const hand = await time(floor, event);
  process.send?.({ hit, hand, deployedLines, floorLines });
}

main().catch((error: unknown) => {
  process.send?.({ error: error instanceof Error ? error.stack : String(error) });
});
