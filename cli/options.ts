// Argument and option parsers shared by the commands. Each throws commander's InvalidArgumentError,
// so a bad value is a usage error (exit 2) printed with the command's help.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { CommanderError, InvalidArgumentError, Option } from 'commander';

import { DEFAULT_SECRET_PREFIX, ENV } from '../contract';
import { TenantMisconfiguredError } from '../lambdas/core/errors';
import { TENANT_ID_PATTERN } from '../lambdas/core/tenant-config';
import { UsageError } from './errors';
import type { Io } from './io';

/** Where `npm start` / `tvm serve` listens by default. */
export const DEFAULT_LOCAL_ENDPOINT = 'http://127.0.0.1:8787';

export function parseTenantId(value: string): string {
  if (!TENANT_ID_PATTERN.test(value))
    throw new InvalidArgumentError(`'${value}' is not a valid tenant id (lowercase letters, digits, hyphens).`);
  return value;
}

/** An absolute http(s) URL; anything else is a usage error. */
/**
 * An argument refused without quoting it (commander's own invalid-argument error repeats the value): `main` prints
 * the message and exits with the usage code.
 */
export class UnquotedArgumentError extends CommanderError {
  constructor(message: string) {
    super(2, 'tvm.unquotedArgument', message);
    this.name = 'UnquotedArgumentError';
  }
}

export function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not quoted: what does not parse may still hold a password.
    throw new InvalidArgumentError(`the endpoint is not a URL; expected e.g. ${DEFAULT_LOCAL_ENDPOINT}.`);
  }
  // Requests are signed with SigV4; a user name or password in the URL is never sent, and never echoed.
  if (url.username || url.password)
    throw new UnquotedArgumentError(
      `the endpoint must not contain a user name or password (${url.protocol}//…@${url.host}); requests are signed with your AWS credentials.`,
    );
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`'${value}' must be an http:// or https:// URL.`);
  return value;
}

export function integerIn(min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return parsed;
  };
}

export function isLoopback(endpoint: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
}

export const regionOption = () =>
  new Option('--region <region>', 'AWS region (default: $AWS_REGION, else the profile)');
export const prefixOption = () =>
  new Option('--prefix <prefix>', `secret name prefix (default: $${ENV.secretPrefix}, else ${DEFAULT_SECRET_PREFIX})`);

export function secretPrefix(io: Io, prefix: string | undefined): string {
  return (prefix ?? io.env[ENV.secretPrefix] ?? DEFAULT_SECRET_PREFIX).replace(/\/$/, '');
}

/** Read a JSON file. A parse failure never quotes the text: it may hold a password. */
export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`Cannot read ${path}.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new TenantMisconfiguredError(basename(path), ['file is not valid JSON']);
  }
}

/**
 * The tenants in a secret file: one tenant secret (named after the file) or a tenants file
 * (`{ "<tenant>": { ...secret } }`, as TVM_TENANTS_FILE). Used by `tenant check`, `put` and `test`.
 */
export function tenantEntries(path: string, json: unknown): { single: boolean; entries: Array<[string, unknown]> } {
  if (typeof json === 'object' && json !== null && 'provider' in json)
    return { single: true, entries: [[basename(path).replace(/\.json$/, ''), json]] };
  if (typeof json === 'object' && json !== null && !Array.isArray(json))
    return { single: false, entries: Object.entries(json) };
  return { single: false, entries: [] };
}

/** The secret of `tenantId` in a file of either format. */
export function tenantSecretFromFile(path: string, tenantId: string): unknown {
  const { single, entries } = tenantEntries(path, readJson(path));
  if (single) return entries[0]?.[1];
  const found = entries.find(([id]) => id === tenantId);
  if (!found)
    throw new UsageError(
      `${path} holds neither a tenant secret nor tenant '${tenantId}' (it has: ${entries.map(([id]) => id).join(', ') || 'nothing'}).`,
    );
  return found[1];
}
