// Amazon Cognito identity pools: GetId (the user pool's ID token as login) for the stable identity id, then
// GetCredentialsForIdentity for temporary AWS credentials. Both are unsigned calls: no IAM permission is needed,
// only the ID token. Every answer is checked before it is cached or vended.

import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
} from '@aws-sdk/client-cognito-identity';
import * as z from 'zod/mini';

import { BodyTooLongError } from '../../contract/bounded-body';
import { awsClientOptions, singleCallOptions } from '../adapters/aws-client-options';
import type { AwsCredentials, IdentityPool, IdentityPoolTenantConfig } from '../core/aws-credentials';
import {
  TenantMisconfiguredError,
  UpstreamAuthFailedError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../core/errors';

export type CognitoIdentityClientFactory = (region: string) => CognitoIdentityClient;

/** One client per region, reused across invocations, with timeouts that fire; the vendor retries. */
export function cachedCognitoIdentityClients(): CognitoIdentityClientFactory {
  const clients = new Map<string, CognitoIdentityClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = new CognitoIdentityClient({ region, ...awsClientOptions('cognitoIdentity') });
      clients.set(region, client);
    }
    return client;
  };
}

/** The `Logins` key of a user pool: `cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
export function userPoolLogin(config: Pick<IdentityPoolTenantConfig, 'region' | 'userPoolId'>): string {
  return `cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`;
}

const IDENTITY_ID = /^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f-]{36}$/;
/** Printable ASCII without spaces: the values end up in headers and environment variables. */
const headerSafe = (max: number) => z.string().check(z.regex(new RegExp(`^[\\x21-\\x7E]{1,${max}}$`)));

const credentialsAnswer = z.object({
  IdentityId: z.string().check(z.regex(IDENTITY_ID)),
  Credentials: z.object({
    AccessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
    SecretKey: headerSafe(256),
    SessionToken: headerSafe(8192),
    Expiration: z.date(),
  }),
});

interface SdkErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const UNAVAILABLE = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalErrorException',
  'ResourceConflictException',
  'ExternalServiceException',
  'TimeoutError',
  'RequestTimeout',
]);

/** Map an identity pool error to the service's error classes. Never includes the ID token or credentials. */
export function classifyIdentityPoolError(
  tenantId: string,
  operation: 'GetId' | 'GetCredentialsForIdentity',
  error: unknown,
): Error {
  const shape = (error ?? {}) as SdkErrorShape;
  const name = shape.name ?? 'Error';
  const status = shape.$metadata?.httpStatusCode;
  if (error instanceof BodyTooLongError && !(status !== undefined && (status >= 500 || status === 429))) {
    return new UpstreamTokenInvalidError(
      `The identity pool answered ${operation} for tenant '${tenantId}' with more than ${error.maxBytes} bytes; ` +
        'the answer was cut unread.',
    );
  }
  if (name === 'NotAuthorizedException') {
    return new UpstreamAuthFailedError(
      `The identity pool refused ${operation} for tenant '${tenantId}' (${name}): check that it lists the tenant's ` +
        'user pool and app client as an authentication provider, and that it allows authenticated identities.',
      'client_rejected',
    );
  }
  if (name === 'ResourceNotFoundException' && operation === 'GetId') {
    return new TenantMisconfiguredError(tenantId, ['identityPoolId: no such identity pool in its region']);
  }
  if (name === 'InvalidIdentityPoolConfigurationException' || name === 'InvalidParameterException') {
    return new UpstreamAuthFailedError(
      `The identity pool refused ${operation} for tenant '${tenantId}' (${name}): check its roles and role mappings.`,
      'client_rejected',
    );
  }
  if (UNAVAILABLE.has(name) || status === undefined || status >= 500 || status === 429 || shape.$retryable) {
    return new UpstreamUnavailableError(`The identity pool is unavailable for tenant '${tenantId}' (${name}).`);
  }
  return new UpstreamAuthFailedError(
    `The identity pool refused ${operation} for tenant '${tenantId}' (${name}).`,
    'client_rejected',
  );
}

export class CognitoIdentityPool implements IdentityPool {
  constructor(private readonly clientFor: CognitoIdentityClientFactory = cachedCognitoIdentityClients()) {}

  async credentials(
    tenantId: string,
    config: IdentityPoolTenantConfig,
    idToken: string,
    knownIdentityId: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ identityId: string; credentials: AwsCredentials }> {
    // Each request gets its own timeout (and the budget's signal).
    const options = () => singleCallOptions('cognitoIdentity', signal);
    const region = config.identityPoolId.split(':')[0] ?? config.region;
    const client = this.clientFor(region);
    const logins = { [userPoolLogin(config)]: idToken };
    let identityId = knownIdentityId ?? (await this.getId(tenantId, client, config, logins, options()));
    let output: unknown;
    try {
      output = await client.send(
        new GetCredentialsForIdentityCommand({ IdentityId: identityId, Logins: logins }),
        options(),
      );
    } catch (error) {
      // The pool no longer knows a remembered identity (deleted, or the pool was recreated): look it up once more.
      if (!(knownIdentityId && (error as SdkErrorShape)?.name === 'ResourceNotFoundException')) {
        throw classifyIdentityPoolError(tenantId, 'GetCredentialsForIdentity', error);
      }
      identityId = await this.getId(tenantId, client, config, logins, options());
      output = await client
        .send(new GetCredentialsForIdentityCommand({ IdentityId: identityId, Logins: logins }), options())
        .catch((retryError: unknown) => {
          throw classifyIdentityPoolError(tenantId, 'GetCredentialsForIdentity', retryError);
        });
    }
    const parsed = credentialsAnswer.safeParse(output);
    if (!parsed.success || parsed.data.IdentityId !== identityId) {
      const fields = parsed.success
        ? 'IdentityId'
        : parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
      throw new UpstreamTokenInvalidError(
        `The identity pool of tenant '${tenantId}' answered GetCredentialsForIdentity with unusable credentials (${fields}).`,
      );
    }
    const { Credentials: credentials } = parsed.data;
    return {
      identityId,
      credentials: {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretKey,
        sessionToken: credentials.SessionToken,
        expiresAt: Math.floor(credentials.Expiration.getTime() / 1000),
      },
    };
  }

  private async getId(
    tenantId: string,
    client: CognitoIdentityClient,
    config: IdentityPoolTenantConfig,
    logins: Record<string, string>,
    options: { abortSignal: AbortSignal },
  ): Promise<string> {
    let output: { IdentityId?: string | undefined };
    try {
      output = await client.send(new GetIdCommand({ IdentityPoolId: config.identityPoolId, Logins: logins }), options);
    } catch (error) {
      throw classifyIdentityPoolError(tenantId, 'GetId', error);
    }
    if (!output.IdentityId || !IDENTITY_ID.test(output.IdentityId)) {
      throw new UpstreamTokenInvalidError(
        `The identity pool of tenant '${tenantId}' answered GetId without a valid IdentityId.`,
      );
    }
    return output.IdentityId;
  }
}
