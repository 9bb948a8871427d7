import { Argument, Command, Option } from 'commander';

import { callTokenApi } from '../api-call';
import type { CliContext } from '../context';
import { EXIT } from '../io';
import { DEFAULT_LOCAL_ENDPOINT, integerIn, parseEndpoint, parseTenantId, regionOption } from '../options';

interface TokenOptions {
  readonly endpoint?: string;
  readonly minTtl: number;
  readonly json?: boolean;
  readonly headers?: boolean;
  readonly region?: string;
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
      const token = await callTokenApi(ctx, options, `Getting a token for ${tenantId}`, (client) =>
        client.getToken(tenantId, { minTtl: options.minTtl }),
      );
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
