// `tvm credentials <tenant>`: temporary AWS credentials of a tenant's identity pool identity, as shell exports,
// JSON, or the AWS CLI's `credential_process` format, so a profile with
// `credential_process = tvm credentials acme --format process` works in the AWS CLI and every SDK.

import { Argument, Command, Option } from 'commander';

import { type AwsCredentialsResponse } from '../../client/token-client';
import { callTokenApi } from '../api-call';
import type { CliContext } from '../context';
import { EXIT } from '../io';
import { DEFAULT_LOCAL_ENDPOINT, integerIn, parseEndpoint, parseTenantId, regionOption } from '../options';

export const CREDENTIAL_FORMATS = ['env', 'json', 'process'] as const;
export type CredentialFormat = (typeof CREDENTIAL_FORMATS)[number];

interface CredentialsOptions {
  readonly endpoint?: string;
  readonly minTtl: number;
  readonly format: CredentialFormat;
  readonly region?: string;
}

/** POSIX shell single quotes: safe whatever the value holds. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The text `tvm credentials` prints:
 * - `env`: `export AWS_ACCESS_KEY_ID=…` lines for `eval "$(tvm credentials acme)"`;
 * - `json`: the API's body;
 * - `process`: the `credential_process` contract (`Version: 1`, `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`).
 */
export function formatCredentials(credentials: AwsCredentialsResponse, format: CredentialFormat): string {
  switch (format) {
    case 'process':
      return `${JSON.stringify({
        Version: 1,
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        SessionToken: credentials.sessionToken,
        Expiration: credentials.expiration,
      })}\n`;
    case 'json':
      return `${JSON.stringify(credentials, null, 2)}\n`;
    case 'env':
      return (
        [
          ['AWS_ACCESS_KEY_ID', credentials.accessKeyId],
          ['AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey],
          ['AWS_SESSION_TOKEN', credentials.sessionToken],
          ['AWS_CREDENTIAL_EXPIRATION', credentials.expiration],
        ]
          .map(([name, value]) => `export ${name}=${shellQuote(value ?? '')}`)
          .join('\n') + '\n'
      );
  }
}

export function credentialsCommand(ctx: CliContext): Command {
  return new Command('credentials')
    .description("print temporary AWS credentials of a tenant's Cognito identity pool identity")
    .addArgument(new Argument('<tenant>', 'tenant id (a cognito tenant with identityPoolId)').argParser(parseTenantId))
    .addOption(
      new Option('--endpoint <url>', `API base URL (default: $TVM_ENDPOINT, else ${DEFAULT_LOCAL_ENDPOINT})`).argParser(
        parseEndpoint,
      ),
    )
    .addOption(
      new Option('--min-ttl <seconds>', 'seconds the credentials must stay valid, 0-3540')
        .argParser(integerIn(0, 3540))
        .default(300),
    )
    .addOption(
      new Option('--format <format>', 'env: shell exports; json: the API body; process: AWS CLI credential_process')
        .choices(CREDENTIAL_FORMATS)
        .default('env'),
    )
    .addOption(regionOption().default(undefined, 'from the endpoint, else $AWS_REGION'))
    .addHelpText(
      'after',
      '\nIn ~/.aws/config:\n  [profile acme]\n  credential_process = tvm credentials acme --format process\n' +
        'Requests are signed with your AWS credentials (SigV4); local endpoints need none.',
    )
    .action(async (tenantId: string, options: CredentialsOptions) => {
      const { io } = ctx;
      const credentials = await callTokenApi(ctx, options, `Getting AWS credentials for ${tenantId}`, (client) =>
        client.getAwsCredentials(tenantId, { minTtl: options.minTtl }),
      );
      io.stdout(formatCredentials(credentials, options.format));
      ctx.setExitCode(EXIT.ok);
    });
}
