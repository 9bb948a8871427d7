// Local mode's OAuth 2.0 client-credentials tenant (`demo-oauth2`): an embedded token endpoint
// (oauth2-mock-server, see oauth2-emulator.ts) and the tenant secret that uses it, JWT-verified against its JWKS.

import { startOAuth2Emulator, type OAuth2Emulator } from './oauth2-emulator';

export const DEMO_OAUTH2_TENANT = 'demo-oauth2';

export interface SeededOAuth2Tenant {
  readonly emulator: OAuth2Emulator;
  /** The tenant secret, as it would be stored in Secrets Manager. */
  readonly secret: Record<string, unknown>;
}

export async function seedOAuth2Tenant(tokenTtlSeconds = 3600): Promise<SeededOAuth2Tenant> {
  const audience = 'https://api.example.com';
  const emulator = await startOAuth2Emulator({ clientId: 'demo-m2m-client', tokenTtlSeconds });
  return {
    emulator,
    secret: {
      provider: 'oauth2-client-credentials',
      tokenUrl: emulator.tokenUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      scopes: ['reports.read'],
      audience,
      jwt: { issuer: emulator.issuer, jwksUri: emulator.jwksUri, audience },
      claims: ['scope', 'client_id'],
    },
  };
}
