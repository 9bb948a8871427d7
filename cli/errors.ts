// The one place that turns anything a command throws into a message, a resolution hint and an exit code.

import { TokenApiError } from '../client/token-client';
import { TenantMisconfiguredError, TvmError } from '../lambdas/core/errors';
import { colour, EXIT, type ExitCode, type Io } from './io';

/** Bad command-line input: exit 2 with the command's help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The token API could not be reached at all (refused, unknown host, TLS failure). */
export class EndpointUnreachableError extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    /** The endpoint is the default local one, so the local server is probably not running. */
    readonly defaultLocal: boolean,
  ) {
    super(`Cannot reach ${endpoint} (${reason}).`);
    this.name = 'EndpointUnreachableError';
  }
}

/** No region from --region, the environment or the profile. */
export class MissingRegionError extends Error {
  constructor() {
    super('No AWS region is set.');
    this.name = 'MissingRegionError';
  }
}

const REGION_HINT =
  'Pass --region, or set AWS_REGION (e.g. export AWS_REGION=ap-southeast-2), or use an AWS_PROFILE whose config has a region.';
const CREDENTIALS_HINT =
  'Set AWS_PROFILE to a configured profile (aws configure / aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';

/** Hints for the token API's error codes: what the caller can do about them. */
const API_HINTS: Partial<Record<string, string>> = {
  forbidden:
    'Your role must be listed under consumers (with this tenant) in the deployment config, and hold execute-api:Invoke.',
  unauthenticated: 'Requests must be signed with valid AWS credentials (AWS_PROFILE, or --region for the signature).',
  tenant_not_found: 'Create the tenant secret with: tvm tenant put <tenant> --file <secret.json>',
  tenant_misconfigured: 'Check the secret with: tvm tenant check <file>, then tvm tenant put.',
  upstream_auth_failed: 'Check the credentials with: tvm tenant test <tenant>; fix them with tvm tenant put.',
  upstream_challenge_required:
    'Sign in once as the tenant user and complete the challenge, e.g. set a permanent password.',
  upstream_unavailable: 'The upstream is down or throttling; try again after Retry-After.',
  timeout:
    'The token API did not answer in time: check --endpoint (or TVM_ENDPOINT) and that this network reaches it (a private API needs its VPC endpoint).',
  invalid_response:
    'Something other than the token API answered (a proxy or another service): check --endpoint (or TVM_ENDPOINT).',
};

function awsErrorName(error: Error): string | undefined {
  return '$metadata' in error ? error.name : undefined;
}

interface Report {
  readonly exitCode: ExitCode;
  readonly lines: readonly string[];
  readonly hint?: string;
}

/** An Error from any realm: fetch's errors come from Node's own, not the one a test sandbox provides. */
export function isError(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string' && 'name' in value)
  );
}

/** The error and its causes (an adapter may wrap the SDK's error, e.g. as upstream_unavailable). */
function chain(error: unknown): Error[] {
  const errors: Error[] = [];
  for (let current = error; isError(current) && errors.length < 5; current = current.cause) errors.push(current);
  return errors;
}

/** Missing AWS configuration, wherever it sits in the cause chain. */
function awsSetupProblem(error: unknown): Report | undefined {
  for (const cause of chain(error)) {
    if (cause instanceof MissingRegionError || /region is missing/i.test(cause.message))
      return { exitCode: EXIT.failed, lines: ['error No AWS region is set.'], hint: REGION_HINT };
    if (cause.name === 'CredentialsProviderError')
      return { exitCode: EXIT.failed, lines: ['error No AWS credentials were found.'], hint: CREDENTIALS_HINT };
  }
  return undefined;
}

function describe(error: unknown): Report {
  const setup = awsSetupProblem(error);
  if (setup) return setup;
  if (error instanceof UsageError)
    return { exitCode: EXIT.usage, lines: [`error ${error.message}`], hint: "Run 'tvm --help' for usage." };
  if (error instanceof TenantMisconfiguredError)
    return {
      exitCode: EXIT.invalid,
      lines: [`invalid ${error.tenantId}:`, ...error.problems.map((problem) => `  - ${problem}`)],
    };
  if (error instanceof TokenApiError)
    return {
      exitCode: EXIT.failed,
      lines: [
        `error ${error.status} ${error.code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`,
      ],
      ...(API_HINTS[error.code] ? { hint: API_HINTS[error.code] } : {}),
    };
  if (error instanceof EndpointUnreachableError)
    return {
      exitCode: EXIT.failed,
      lines: [`error ${error.message}`],
      hint: error.defaultLocal
        ? 'Is the local server running? Start it with: npm start (or tvm serve), or pass --endpoint / set TVM_ENDPOINT.'
        : 'Check --endpoint (or TVM_ENDPOINT): it should be the stack ApiUrl output, e.g. https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/',
    };
  if (error instanceof TvmError) return { exitCode: EXIT.failed, lines: [`error ${error.code}: ${error.message}`] };
  if (isError(error)) {
    const aws = awsErrorName(error);
    if (aws === 'AccessDeniedException' || aws === 'UnrecognizedClientException' || aws === 'ExpiredTokenException')
      return { exitCode: EXIT.failed, lines: [`error ${aws}: ${error.message}`], hint: CREDENTIALS_HINT };
    return { exitCode: EXIT.failed, lines: [`error${aws ? ` ${aws}` : ''}: ${error.message}`] };
  }
  return { exitCode: EXIT.failed, lines: [`error: ${String(error)}`] };
}

/** Print what went wrong and how to fix it; returns the exit code. */
export function reportError(error: unknown, io: Io): ExitCode {
  const c = colour(io);
  const report = describe(error);
  const [first = '', ...rest] = report.lines;
  const word = first.split(' ', 1)[0] ?? '';
  const lines = [
    c.red(word) + first.slice(word.length),
    ...rest,
    ...(report.hint ? [c.dim(`hint: ${report.hint}`)] : []),
  ];
  io.stderr(`${lines.join('\n')}\n`);
  return report.exitCode;
}
