// Shared helpers of the benchmarks: results, statistics, Lambda-like environment and events.
import type { Context } from 'aws-lambda';

import { ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names';
import type { AuthProvider, ProviderSession } from '../lambdas/core/ports';
import { FUNCTION_MEMORY_MB, nodeOptions } from '../lib/bundle-settings';

export type Results = Record<string, number>;
export const results: Results = {};
export const notes: string[] = [];

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
export const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export const BENCH_PRINCIPAL = 'arn:aws:iam::123456789012:role/bench';

/**
 * The flags Lambda's Node.js runtime starts `node` with for a function of `memoryMb` (its bootstrap script in the
 * runtime's image: a tenth of the memory for the young generation, half of that per semi-space, the rest for the old
 * generation). Besides the heap sizes, any V8 flag makes Node.js refuse the code cache its own modules were built
 * with (V8 checks a hash of the flags), so every built-in module a function loads is compiled from source at its cold
 * start: `require('node:https')` takes about twice as long with them on this machine.
 */
export function lambdaNodeArgs(memoryMb = FUNCTION_MEMORY_MB): string[] {
  const youngMb = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size',
    '81920',
    `--max-semi-space-size=${Math.floor(youngMb / 2)}`,
    `--max-old-space-size=${memoryMb - youngMb}`,
  ];
}

/** execArgv of a benchmark worker process standing for a Lambda container: Lambda's flags, TypeScript through tsx. */
export function workerExecArgv(): string[] {
  return [...lambdaNodeArgs(), '--import', 'tsx'];
}

/** The environment Lambda gives the vend function (names and values as the stack sets them; metrics on). */
export function lambdaEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'ap-southeast-2',
    AWS_DEFAULT_REGION: 'ap-southeast-2',
    AWS_LAMBDA_FUNCTION_NAME: 'tvm-vend',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(FUNCTION_MEMORY_MB),
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_ACCESS_KEY_ID: 'ASIABENCH',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // As deployed by default (no source-map parsing at start-up; see lib/bundle-settings.ts).
    ...nodeOptions(false),
    [ENV.powertoolsServiceName]: SERVICE_NAME,
    [ENV.powertoolsMetricsNamespace]: METRICS_NAMESPACE,
    [ENV.consumers]: JSON.stringify([{ principal: BENCH_PRINCIPAL, tenants: ['*'] }]),
    ...extra,
  };
  return env;
}

export { tokenRouteEvent as apiEvent, type TokenRouteEventOptions as ApiEventOptions } from '../test/support/events';

export const lambdaContext = {
  awsRequestId: 'bench',
  functionName: 'tvm-vend',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:tvm-vend',
  memoryLimitInMB: String(FUNCTION_MEMORY_MB),
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

/** An unsigned JWT-shaped token with `exp` one hour away (the hit path never verifies what L1 holds). */
export function fakeSession(tenantId: string) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const jwt = `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp, sub: 'bench' })).toString('base64url')}.sig`;
  return {
    tenantId,
    provider: 'cognito' as const,
    tokens: { idToken: jwt, accessToken: jwt },
    refreshToken: 'refresh',
    claims: { 'custom:companyId': 'c' },
    expiresAt: exp,
    issuedAt: exp - 3600,
  };
}

/** A provider that never leaves the process: every sign-in and refresh answers a fresh {@link fakeSession}. */
export class StaticProvider implements AuthProvider {
  async signIn(tenantId: string): Promise<ProviderSession> {
    const { tokens, refreshToken, claims, expiresAt } = fakeSession(tenantId);
    return { tokens, refreshToken, claims, expiresAt };
  }
  async refresh(tenantId: string): Promise<ProviderSession> {
    return this.signIn(tenantId);
  }
}
