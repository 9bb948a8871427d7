import * as z from 'zod';

import { consumersSchema, type Consumer } from '../core/access-policy';
import { TENANT_ID_PATTERN } from '../core/tenant-config';

/**
 * Runtime configuration from environment variables, validated once at start-up.
 * The CDK stack sets these on the functions; local mode sets them itself.
 */
const envSchema = z.object({
  TVM_SECRET_PREFIX: z
    .string()
    .regex(/^[\w/+=.@-]+$/, 'must be a Secrets Manager name prefix')
    .default('tvm/tenants'),
  TVM_TENANTS_FILE: z.string().min(1).optional(),
  /** DynamoDB table of the shared (fleet-wide) cache; unset: memory only. */
  TVM_CACHE_TABLE: z
    .string()
    .regex(/^[\w.-]{3,255}$/, 'must be a DynamoDB table name')
    .optional(),
  TVM_CONSUMERS: z.string().default('[]'),
  TVM_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  TVM_SECRET_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  TVM_UPSTREAM_ATTEMPTS: z.coerce.number().int().min(1).max(5).default(3),
  /** Tenants the scheduled refresher keeps warm: a JSON array of tenant ids. */
  TVM_TENANTS: z.string().default('[]'),
  TVM_REFRESH_AT_FRACTION: z.coerce.number().gt(0).lt(1).default(0.75),
});

export interface RuntimeConfig {
  readonly secretPrefix: string;
  readonly tenantsFile?: string;
  readonly cacheTable?: string;
  readonly consumers: readonly Consumer[];
  readonly clockSkewSeconds: number;
  readonly secretCacheTtlSeconds: number;
  readonly upstreamAttempts: number;
  readonly tenants: readonly string[];
  readonly refreshAtFraction: number;
}

export class ConfigError extends Error {}

function problems(prefix: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.')}: ${issue.message}`)
    .join('; ');
}

/** A variable holding JSON: parse it, validate it, and name the variable and field on failure. */
function jsonVariable<T>(name: string, text: string, schema: z.ZodType<T>, expected: string): T {
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
  const consumers = jsonVariable(
    'TVM_CONSUMERS',
    parsed.data.TVM_CONSUMERS,
    consumersSchema,
    'a JSON array of {principal, tenants}',
  );
  const tenants = jsonVariable(
    'TVM_TENANTS',
    parsed.data.TVM_TENANTS,
    z.array(z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id')),
    'a JSON array of tenant ids',
  );
  return {
    secretPrefix: parsed.data.TVM_SECRET_PREFIX,
    ...(parsed.data.TVM_TENANTS_FILE ? { tenantsFile: parsed.data.TVM_TENANTS_FILE } : {}),
    ...(parsed.data.TVM_CACHE_TABLE ? { cacheTable: parsed.data.TVM_CACHE_TABLE } : {}),
    consumers,
    clockSkewSeconds: parsed.data.TVM_CLOCK_SKEW_SECONDS,
    secretCacheTtlSeconds: parsed.data.TVM_SECRET_CACHE_TTL_SECONDS,
    upstreamAttempts: parsed.data.TVM_UPSTREAM_ATTEMPTS,
    tenants,
    refreshAtFraction: parsed.data.TVM_REFRESH_AT_FRACTION,
  };
}
