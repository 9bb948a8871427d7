import * as z from 'zod/mini';

import { DEFAULT_SECRET_PREFIX, ENV } from '../../contract/names';
import { consumersSchema, type Consumer } from '../core/access-policy';
import { TENANT_ID_PATTERN } from '../core/tenant-config';

import '../core/zod-messages';

import { readAccessPolicyFile } from './access-policy-file';

/**
 * Runtime configuration from environment variables, validated once at start-up.
 * The CDK stack sets these on the functions; local mode sets them itself.
 */
/** A whole number in [min, max] from a variable's text. */
const integerVariable = (min: number, max: number, byDefault: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), byDefault);
const nonEmptyString = z.string().check(z.minLength(1));

const envSchema = z.object({
  [ENV.secretPrefix]: z._default(
    z.string().check(z.regex(/^[\w/+=.@-]+$/, 'must be a Secrets Manager name prefix')),
    DEFAULT_SECRET_PREFIX,
  ),
  [ENV.tenantsFile]: z.optional(nonEmptyString),
  /** DynamoDB table of the shared (fleet-wide) cache; unset: memory only. */
  [ENV.cacheTable]: z.optional(z.string().check(z.regex(/^[\w.-]{3,255}$/, 'must be a DynamoDB table name'))),
  /** KMS key (id, ARN or alias) sealing the shared cache's session items; required with the table. */
  [ENV.cacheKeyId]: z.optional(
    z.string().check(z.regex(/^[\w/:.-]{1,2048}$/, 'must be a KMS key id, key ARN or alias')),
  ),
  [ENV.consumers]: z._default(z.string(), '[]'),
  /** JSON file `{"consumers": [...]}` bundled with the function (the deployment's access policy). */
  [ENV.accessPolicyFile]: z.optional(nonEmptyString),
  [ENV.clockSkewSeconds]: integerVariable(0, 300, 30),
  [ENV.secretCacheTtlSeconds]: integerVariable(1, 3600, 300),
  [ENV.upstreamAttempts]: integerVariable(1, 5, 3),
  /** Tenants the scheduled refresher keeps warm: a JSON array of tenant ids. */
  [ENV.tenants]: z._default(z.string(), '[]'),
  [ENV.refreshAtFraction]: z._default(z.coerce.number().check(z.gt(0), z.lt(1)), 0.75),
  /** One vend's whole time budget; it must end before the function's timeout and API Gateway's 29 s. */
  [ENV.vendBudgetMs]: integerVariable(500, 28_000, 20_000),
  [ENV.forcedRenewalIntervalSeconds]: integerVariable(0, 3600, 30),
});

export interface RuntimeConfig {
  readonly secretPrefix: string;
  readonly tenantsFile?: string;
  readonly cacheTable?: string;
  readonly cacheKeyId?: string;
  readonly consumers: readonly Consumer[];
  readonly clockSkewSeconds: number;
  readonly secretCacheTtlSeconds: number;
  readonly upstreamAttempts: number;
  readonly tenants: readonly string[];
  readonly refreshAtFraction: number;
  /** Milliseconds one vend may take in all; then 503 `upstream_unavailable` with Retry-After. */
  readonly vendBudgetMs: number;
  /** Seconds between two forced renewals (`rejected=`) of one tenant, fleet-wide. */
  readonly forcedRenewalIntervalSeconds: number;
}

/** A bad environment variable: the message names the variable and the field, never its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function problems(prefix: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.')}: ${issue.message}`)
    .join('; ');
}

/** A variable holding JSON: parse it, validate it, and name the variable and field on failure. */
export function jsonVariable<T>(name: string, text: string, schema: z.ZodMiniType<T>, expected: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`Invalid configuration: ${name} must be ${expected}.`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new ConfigError(`Invalid configuration: ${problems(name, result.error.issues)}`);
  return result.data;
}

export function loadRuntimeConfig(env: Record<string, string | undefined>): RuntimeConfig {
  // An empty variable counts as unset, as shells and CI systems commonly write them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(`Invalid configuration: ${problems('', parsed.error.issues)}`);
  const policyFile = parsed.data[ENV.accessPolicyFile];
  const consumers = [
    ...(policyFile
      ? readAccessPolicyFile(policyFile, env, (message) => new ConfigError(`Invalid configuration: ${message}`))
      : []),
    ...jsonVariable(ENV.consumers, parsed.data[ENV.consumers], consumersSchema, 'a JSON array of {principal, tenants}'),
  ];
  const tenants = jsonVariable(
    ENV.tenants,
    parsed.data[ENV.tenants],
    z.array(z.string().check(z.regex(TENANT_ID_PATTERN, 'must be a tenant id'))),
    'a JSON array of tenant ids',
  );
  if (parsed.data[ENV.cacheTable] && !parsed.data[ENV.cacheKeyId]) {
    throw new ConfigError(
      `Invalid configuration: ${ENV.cacheKeyId}: required when ${ENV.cacheTable} is set (the KMS key that encrypts session items).`,
    );
  }
  return {
    secretPrefix: parsed.data[ENV.secretPrefix],
    ...(parsed.data[ENV.tenantsFile] ? { tenantsFile: parsed.data[ENV.tenantsFile] } : {}),
    ...(parsed.data[ENV.cacheTable] ? { cacheTable: parsed.data[ENV.cacheTable] } : {}),
    ...(parsed.data[ENV.cacheKeyId] ? { cacheKeyId: parsed.data[ENV.cacheKeyId] } : {}),
    consumers,
    clockSkewSeconds: parsed.data[ENV.clockSkewSeconds],
    secretCacheTtlSeconds: parsed.data[ENV.secretCacheTtlSeconds],
    upstreamAttempts: parsed.data[ENV.upstreamAttempts],
    tenants,
    refreshAtFraction: parsed.data[ENV.refreshAtFraction],
    vendBudgetMs: parsed.data[ENV.vendBudgetMs],
    forcedRenewalIntervalSeconds: parsed.data[ENV.forcedRenewalIntervalSeconds],
  };
}
