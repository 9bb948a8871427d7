import * as z from 'zod';

import { DEFAULT_SECRET_PREFIX, ENV } from '../../contract/names';
import { consumersSchema, type Consumer } from '../core/access-policy';
import { TENANT_ID_PATTERN } from '../core/tenant-config';

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
  [ENV.consumers]: z.string().default('[]'),
  [ENV.clockSkewSeconds]: z.coerce.number().int().min(0).max(300).default(30),
  [ENV.secretCacheTtlSeconds]: z.coerce.number().int().min(1).max(3600).default(300),
  [ENV.upstreamAttempts]: z.coerce.number().int().min(1).max(5).default(3),
  /** Tenants the scheduled refresher keeps warm: a JSON array of tenant ids. */
  [ENV.tenants]: z.string().default('[]'),
  [ENV.refreshAtFraction]: z.coerce.number().gt(0).lt(1).default(0.75),
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
  const consumers = jsonVariable(
    ENV.consumers,
    parsed.data[ENV.consumers],
    consumersSchema,
    'a JSON array of {principal, tenants}',
  );
  const tenants = jsonVariable(
    ENV.tenants,
    parsed.data[ENV.tenants],
    z.array(z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id')),
    'a JSON array of tenant ids',
  );
  return {
    secretPrefix: parsed.data[ENV.secretPrefix],
    ...(parsed.data[ENV.tenantsFile] ? { tenantsFile: parsed.data[ENV.tenantsFile] } : {}),
    ...(parsed.data[ENV.cacheTable] ? { cacheTable: parsed.data[ENV.cacheTable] } : {}),
    consumers,
    clockSkewSeconds: parsed.data[ENV.clockSkewSeconds],
    secretCacheTtlSeconds: parsed.data[ENV.secretCacheTtlSeconds],
    upstreamAttempts: parsed.data[ENV.upstreamAttempts],
    tenants,
    refreshAtFraction: parsed.data[ENV.refreshAtFraction],
  };
}
