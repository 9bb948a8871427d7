import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { FetchError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

import { UpstreamTokenInvalidError, UpstreamUnavailableError } from '../core/errors';

/**
 * Verifies every JWT an upstream hands us, with issuer, audience/client and
 * token use pinned per tenant. Real Cognito goes through CognitoJwtVerifier
 * (JWKS over https, its own cache). Cognito-compatible emulators and local
 * upstreams serve JWKS over plain http, which aws-jwt-verify's default fetcher
 * refuses; for those, and only those, a fetch-based fetcher is plugged in.
 */

export type CognitoTokenUse = 'id' | 'access';

export interface CognitoExpectation {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly tokenUse: CognitoTokenUse;
  /** Set for a Cognito-compatible endpoint; real Cognito derives it from the pool id. */
  readonly issuer?: string;
}

export interface GenericExpectation {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience?: string;
}

export interface UpstreamJwtVerifier {
  verifyCognito(tenantId: string, token: string, expected: CognitoExpectation): Promise<JwtPayload>;
  verifyJwt(tenantId: string, token: string, expected: GenericExpectation): Promise<JwtPayload>;
}

interface Verifier {
  verify(token: string): Promise<JwtPayload>;
}

/** Plain-http JWKS fetcher for emulators; aws-jwt-verify keeps caching, kid lookup and the penalty box. */
export const httpJwksFetcher: Fetcher = {
  async fetch(uri: string): Promise<ArrayBuffer> {
    try {
      const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) throw new Error(`status ${response.status}`);
      return await response.arrayBuffer();
    } catch (error) {
      throw new FetchError(uri, error instanceof Error ? error.message : String(error));
    }
  },
};

function jwksCacheFor(jwksUri: string): { jwksCache: SimpleJwksCache } | undefined {
  return jwksUri.startsWith('http:') ? { jwksCache: new SimpleJwksCache({ fetcher: httpJwksFetcher }) } : undefined;
}

export class AwsJwtVerifier implements UpstreamJwtVerifier {
  private readonly verifiers = new Map<string, Verifier>();

  async verifyCognito(tenantId: string, token: string, expected: CognitoExpectation): Promise<JwtPayload> {
    const key = JSON.stringify(['cognito', expected]);
    let verifier = this.verifiers.get(key);
    if (!verifier) {
      verifier = expected.issuer
        ? this.emulatedCognitoVerifier(expected, expected.issuer)
        : this.cognitoVerifier(expected);
      this.verifiers.set(key, verifier);
    }
    return this.run(tenantId, `${expected.tokenUse} token`, () => verifier.verify(token));
  }

  async verifyJwt(tenantId: string, token: string, expected: GenericExpectation): Promise<JwtPayload> {
    const key = JSON.stringify(['jwt', expected]);
    let verifier = this.verifiers.get(key);
    if (!verifier) {
      const created = JwtVerifier.create(
        { issuer: expected.issuer, audience: expected.audience ?? null, jwksUri: expected.jwksUri },
        jwksCacheFor(expected.jwksUri),
      );
      verifier = { verify: (jwt) => created.verify(jwt) };
      this.verifiers.set(key, verifier);
    }
    return this.run(tenantId, 'token', () => verifier.verify(token));
  }

  private cognitoVerifier(expected: CognitoExpectation): Verifier {
    const created = CognitoJwtVerifier.create({
      userPoolId: expected.userPoolId,
      clientId: expected.clientId,
      tokenUse: expected.tokenUse,
    });
    return { verify: (jwt) => created.verify(jwt) };
  }

  /** Same checks as CognitoJwtVerifier, for an issuer that is not Cognito's own URL. */
  private emulatedCognitoVerifier(expected: CognitoExpectation, issuer: string): Verifier {
    const jwksUri = `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`;
    const created = JwtVerifier.create(
      {
        issuer,
        jwksUri,
        audience: null,
        customJwtCheck: ({ payload }) => {
          if (payload.token_use !== expected.tokenUse) throw new Error(`token_use is not ${expected.tokenUse}`);
          const client = expected.tokenUse === 'id' ? payload.aud : payload.client_id;
          const clients = Array.isArray(client) ? client : [client];
          if (!clients.includes(expected.clientId)) throw new Error('token was issued to another client');
        },
      },
      jwksCacheFor(jwksUri),
    );
    return { verify: (jwt) => created.verify(jwt) };
  }

  private async run(tenantId: string, what: string, verify: () => Promise<JwtPayload>): Promise<JwtPayload> {
    try {
      return await verify();
    } catch (error) {
      // The library's messages describe claims and keys, never the token itself.
      const detail = error instanceof Error ? error.message : String(error);
      if (error instanceof FetchError) {
        throw new UpstreamUnavailableError(`The signing keys for tenant '${tenantId}' could not be fetched: ${detail}`);
      }
      throw new UpstreamTokenInvalidError(
        `The upstream ${what} for tenant '${tenantId}' failed verification: ${detail}`,
      );
    }
  }
}
