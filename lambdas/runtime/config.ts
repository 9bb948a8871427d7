import * as z from 'zod';

import { DEFAULT_SECRET_PREFIX, ENV } from '../../contract/names';
import { consumersSchema, type Consumer } from '../core/access-policy';
import { TENANT_ID_PATTERN } from '../core/tenant-config';
import { readAccessPolicyFile } from './access-policy-file';

/**
 * Runtime configuration from environment variables, validated once at start-up.
 * The CDK stack sets these on the functions; local mode sets them itself.
 */
const envSchema = z.object({
  [ENV.secretPrefix]: z
    .string()
    .regex(/^[\w/+=.@-]+$/, 'must be a Secrets Manager name prefix')
    .default(DEFAULT_SECRET_PREFIX),
  [ENV.tenantsFile]: z.string().min(1).optional(),
  /** DynamoDB table of the shared (fleet-wide) cache; unset: memory only. */
  [ENV.cacheTable]: z
    .string()
    .regex(/^[\w.-]{3,255}$/, 'must be a DynamoDB table name')
    .optional(),
  /** KMS key (id, ARN or alias) sealing the shared cache's session items; required with the table. */
  [ENV.cacheKeyId]: z
    .string()
    .regex(/^[\w/:.-]{1,2048}$/, 'must be a KMS key id, key ARN or alias')
    .optional(),
  [ENV.consumers]: z.string().default('[]'),
  /** JSON file `{"consumers": [...]}` bundled with the function (the deployment's access policy). */
  [ENV.accessPolicyFile]: z.string().min(1).optional(),
  [ENV.clockSkewSeconds]: z.coerce.number().int().min(0).max(300).default(30),
  [ENV.secretCacheTtlSeconds]: z.coerce.number().int().min(1).max(3600).default(300),
  [ENV.upstreamAttempts]: z.coerce.number().int().min(1).max(5).default(3),
  /** Tenants the scheduled refresher keeps warm: a JSON array of tenant ids. */
  [ENV.tenants]: z.string().default('[]'),
  [ENV.refreshAtFraction]: z.coerce.number().gt(0).lt(1).default(0.75),
  /** One vend's whole time budget; it must end before the function's timeout and API Gateway's 29 s. */
  [ENV.vendBudgetMs]: z.coerce.number().int().min(500).max(28_000).default(20_000),
  [ENV.forcedRenewalIntervalSeconds]: z.coerce.number().int().min(0).max(3600).default(30),
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
export function jsonVariable<T>(name: string, text: string, schema: z.ZodType<T>, expected: string): T {
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
    z.array(z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id')),
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
