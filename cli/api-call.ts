// One way the CLI calls the token-vending API: the endpoint from --endpoint, $TVM_ENDPOINT or the local default; the
// region from --region, the environment or the endpoint; fake credentials for loopback endpoints (local mode checks
// no signature); a progress line; and an unreachable endpoint reported by URL (with `npm start` for the local one).

import { regionFromEndpoint, TokenApiError, type TokenClient } from '../client/token-client';
import { ENV } from '../contract';
import type { CliContext } from './context';
import { EndpointUnreachableError, isError, MissingRegionError, UsageError } from './errors';
import { withProgress } from './io';
import { DEFAULT_LOCAL_ENDPOINT, isLoopback, parseEndpoint } from './options';

/** Why fetch failed, from its cause: `ECONNREFUSED`, `ENOTFOUND`, a TLS code, … */
export function networkReason(error: unknown): string | undefined {
  // fetch rejects with a TypeError whose cause says why (from Node's realm: compare names, not classes).
  if (!isError(error) || error.name !== 'TypeError') return undefined;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

export function endpointFromEnv(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return parseEndpoint(value);
  } catch (error) {
    throw new UsageError(`TVM_ENDPOINT: ${(error as Error).message}`);
  }
}

/** Options every API-calling command takes. */
export interface ApiCallOptions {
  readonly endpoint?: string;
  readonly region?: string;
}

/** Build the client for the command's options, run `call` under a progress line, and name the endpoint on failure. */
export async function callTokenApi<T>(
  ctx: CliContext,
  options: ApiCallOptions,
  progress: string,
  call: (client: TokenClient) => Promise<T>,
): Promise<T> {
  const { io } = ctx;
  const endpoint = options.endpoint ?? endpointFromEnv(io.env[ENV.endpoint]) ?? DEFAULT_LOCAL_ENDPOINT;
  const local = isLoopback(endpoint);
  const region = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? (local ? 'local' : undefined);
  if (!region && !regionFromEndpoint(endpoint)) throw new MissingRegionError();
  const client = ctx.deps.tokenClient({
    endpoint,
    ...(region ? { region } : {}),
    // Local mode does not check signatures; spare laptops without AWS credentials.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxRetries: 1 } : {}),
  });
  return withProgress(io, progress, () => call(client)).catch((error: unknown) => {
    const reason = error instanceof TokenApiError ? undefined : networkReason(error);
    if (reason) throw new EndpointUnreachableError(endpoint, reason, endpoint === DEFAULT_LOCAL_ENDPOINT);
    throw error;
  });
}
