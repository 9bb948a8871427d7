// Everything a command needs from the outside world, made by one factory so tests can swap any part.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { TokenClient, type TokenClientOptions } from '../client/token-client';
import { AwsJwtVerifier } from '../lambdas/adapters/jwt-verifier';
import type { AuthProvider } from '../lambdas/core/ports';
import type { ProviderKind } from '../lambdas/core/tenant-config';
import { CognitoProvider } from '../lambdas/providers/cognito';
import { LoginEndpointProvider } from '../lambdas/providers/login-endpoint';
import { OAuth2ClientCredentialsProvider } from '../lambdas/providers/oauth2-client-credentials';
import type { Io } from './io';

/** Where an AWS client points: `region` from --region or the environment, `endpoint` for emulators. */
export interface AwsTarget {
  readonly region?: string;
  readonly endpoint?: string;
}

export interface CliDeps {
  secretsManager(target: AwsTarget): SecretsManagerClient;
  dynamodb(target: AwsTarget): DynamoDBClient;
  /** The export bucket's client (`tvm export`); an `endpoint` (emulator) implies path-style addressing. */
  s3(target: AwsTarget): S3Client;
  tokenClient(options: TokenClientOptions): TokenClient;
  /** The upstream sign-in flow for a provider kind (`tenant test`). */
  provider(kind: ProviderKind): AuthProvider;
  /** Now, for states derived from times (`tvm tenants`). @default Date */
  readonly clock: { now(): number };
}

/** The region the CLI passes to AWS clients: `--region`, else the CLI's environment; undefined lets the SDK read the profile. */
export function regionOf(io: Io, region: string | undefined): string | undefined {
  return region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
}

/** Real clients. Region resolution falls back to the SDK (AWS_PROFILE's config) when neither --region nor AWS_REGION is set. */
export function defaultDeps(io: Io): CliDeps {
  const config = (target: AwsTarget) => {
    const region = regionOf(io, target.region);
    return { ...(region ? { region } : {}), ...(target.endpoint ? { endpoint: target.endpoint } : {}) };
  };
  let verifier: AwsJwtVerifier | undefined;
  return {
    secretsManager: (target) => new SecretsManagerClient(config(target)),
    dynamodb: (target) => new DynamoDBClient(config(target)),
    s3: (target) => new S3Client({ ...config(target), ...(target.endpoint ? { forcePathStyle: true } : {}) }),
    tokenClient: (options) => new TokenClient(options),
    clock: Date,
    provider: (kind) => {
      verifier ??= new AwsJwtVerifier();
      switch (kind) {
        case 'cognito':
          return new CognitoProvider(verifier);
        case 'login-endpoint':
          return new LoginEndpointProvider(verifier);
        case 'oauth2-client-credentials':
          return new OAuth2ClientCredentialsProvider(verifier);
      }
    },
  };
}
