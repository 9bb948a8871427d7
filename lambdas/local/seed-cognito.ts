import { randomBytes } from 'node:crypto';

import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';

/** Create a user pool, an app client and a confirmed user on a Cognito-compatible endpoint, and return the tenant secret for it. */

export interface SeedOptions {
  readonly poolName?: string;
  readonly username?: string;
  /** Random when not given. */
  readonly password?: string;
  /** Custom attributes, without the `custom:` prefix (e.g. companyId). */
  readonly customAttributes?: Readonly<Record<string, string>>;
  /** ID and access token lifetime. @default 60 */
  readonly tokenValidityMinutes?: number;
}

export interface SeededCognitoTenant {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  /** A complete tenant secret (DESIGN §4) for this user. */
  readonly secret: Record<string, unknown>;
}

export async function seedCognitoTenant(endpoint: string, options: SeedOptions = {}): Promise<SeededCognitoTenant> {
  const client = new CognitoIdentityProviderClient({
    region: 'ap-southeast-2',
    endpoint,
    // The emulator does not check signatures, but the SDK signs admin calls.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const username = options.username ?? 'ops@example.com';
  const password = options.password ?? `Tvm-${randomBytes(12).toString('base64url')}1!`;
  const custom = options.customAttributes ?? {};
  const validity = options.tokenValidityMinutes ?? 60;
  try {
    const pool = await client.send(
      new CreateUserPoolCommand({
        PoolName: options.poolName ?? 'tvm-local',
        UsernameAttributes: ['email'],
        Schema: Object.keys(custom).map((name) => ({ Name: name, AttributeDataType: 'String', Mutable: true })),
      }),
    );
    const userPoolId = pool.UserPool?.Id ?? '';
    const appClient = await client.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: 'tvm',
        ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
        IdTokenValidity: validity,
        AccessTokenValidity: validity,
        TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'days' },
      }),
    );
    const clientId = appClient.UserPoolClient?.ClientId ?? '';
    await client.send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: username,
        MessageAction: 'SUPPRESS',
        UserAttributes: [
          { Name: 'email', Value: username },
          { Name: 'email_verified', Value: 'true' },
          ...Object.entries(custom).map(([name, value]) => ({ Name: `custom:${name}`, Value: value })),
        ],
      }),
    );
    await client.send(
      new AdminSetUserPasswordCommand({
        UserPoolId: userPoolId,
        Username: username,
        Password: password,
        Permanent: true,
      }),
    );
    return {
      userPoolId,
      clientId,
      username,
      password,
      secret: {
        provider: 'cognito',
        region: 'ap-southeast-2',
        userPoolId,
        clientId,
        username,
        password,
        endpoint,
        claims: Object.keys(custom).map((name) => `custom:${name}`),
      },
    };
  } finally {
    client.destroy();
  }
}
