// The sign-in half of the composition root: the upstream providers, the JWT verifier they share and the Cognito
// identity pool client. Only a miss, a renewal or an AWS-credentials request needs them, so compose.ts loads this
// module on first use: a deployed bundle keeps it in a chunk of its own, which a container that serves tokens from
// the fleet-wide table never loads (see lib/bundle-settings.ts).
import { AwsJwtVerifier, type UpstreamJwtVerifier } from '../adapters/jwt-verifier';
import type { IdentityPool } from '../core/aws-credentials';
import type { AuthProvider, Clock } from '../core/ports';
import type { ProviderKind } from '../core/tenant-config';
import { CognitoProvider, type CognitoClientFactory } from '../providers/cognito';
import { CognitoIdentityPool } from '../providers/identity-pool';
import { LoginEndpointProvider, type FetchLike } from '../providers/login-endpoint';
import { OAuth2ClientCredentialsProvider } from '../providers/oauth2-client-credentials';

export interface SignInOptions {
  readonly clock: Clock;
  readonly clockSkewSeconds: number;
  readonly verifier?: UpstreamJwtVerifier;
  readonly cognitoClients?: CognitoClientFactory;
  readonly fetch?: FetchLike;
}

export interface SignInParts {
  readonly providers: Readonly<Record<ProviderKind, AuthProvider>>;
  readonly identityPool: IdentityPool;
}

export function signInParts(options: SignInOptions): SignInParts {
  const { clock } = options;
  const verifier = options.verifier ?? new AwsJwtVerifier({ clock, clockSkewSeconds: options.clockSkewSeconds });
  return {
    providers: {
      cognito: new CognitoProvider(verifier, options.cognitoClients),
      'login-endpoint': new LoginEndpointProvider(verifier, options.fetch, clock),
      'oauth2-client-credentials': new OAuth2ClientCredentialsProvider(verifier, options.fetch, clock),
    },
    identityPool: new CognitoIdentityPool(),
  };
}
