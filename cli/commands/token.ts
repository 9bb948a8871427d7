import { Argument, Command, Option } from 'commander';

import { regionFromEndpoint, TokenApiError } from '../../client/token-client';
import { ENV } from '../../contract';
import type { CliContext } from '../context';
import { EndpointUnreachableError, isError, MissingRegionError, UsageError } from '../errors';
import { EXIT, withProgress } from '../io';
import { DEFAULT_LOCAL_ENDPOINT, integerIn, isLoopback, parseEndpoint, parseTenantId, regionOption } from '../options';

interface TokenOptions {
  readonly endpoint?: string;
  readonly minTtl: number;
  readonly json?: boolean;
  readonly headers?: boolean;
  readonly region?: string;
}

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

/** `tvm token <tenant>`: a token (or its headers) for scripts. */
export function tokenCommand(ctx: CliContext): Command {
  return new Command('token')
    .description('print a token (or its headers) from a token-vending-machine API')
    .addArgument(new Argument('<tenant>', 'tenant id').argParser(parseTenantId))
    .addOption(
      new Option('--endpoint <url>', `API base URL (default: $TVM_ENDPOINT, else ${DEFAULT_LOCAL_ENDPOINT})`).argParser(
        parseEndpoint,
      ),
    )
    .addOption(
      new Option('--min-ttl <seconds>', 'seconds the token must stay valid, 0-3600')
        .argParser(integerIn(0, 3600))
        .default(300),
    )
    .addOption(new Option('--json', 'print the whole response as JSON').conflicts('headers'))
    .addOption(new Option('--headers', "print the upstream headers, one 'Name: value' per line"))
    .addOption(regionOption().default(undefined, 'from the endpoint, else $AWS_REGION'))
    .addHelpText('after', '\nRequests are signed with your AWS credentials (SigV4); local endpoints need none.')
    .action(async (tenantId: string, options: TokenOptions) => {
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
      const token = await withProgress(io, `Getting a token for ${tenantId}`, () =>
        client.getToken(tenantId, { minTtl: options.minTtl }),
      ).catch((error: unknown) => {
        const reason = error instanceof TokenApiError ? undefined : networkReason(error);
        if (reason) throw new EndpointUnreachableError(endpoint, reason, endpoint === DEFAULT_LOCAL_ENDPOINT);
        throw error;
      });
      if (options.json) io.stdout(`${JSON.stringify(token, null, 2)}\n`);
      else if (options.headers)
        io.stdout(
          Object.entries(token.headers)
            .map(([name, value]) => `${name}: ${value}\n`)
            .join(''),
        );
      else io.stdout(`${token.idToken ?? token.token ?? token.accessToken ?? ''}\n`);
      ctx.setExitCode(EXIT.ok);
    });
}
