import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { FetchError, JwksValidationError, JwkValidationError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

import { KeySetUnavailableError, UpstreamTokenInvalidError } from '../core/errors';
import { RetryingJwksFetcher, type JwksFetcherOptions } from './jwks-fetcher';

/**
 * Verifies every JWT an upstream hands us, with issuer, audience/client and token use pinned per tenant, `exp`
 * required, `iat`/`nbf` not in the future beyond the clock skew, and the lifetime capped per tenant. Real Cognito goes
 * through CognitoJwtVerifier on its default https JWKS. One key cache serves every verifier, fed by one fetcher that
 * follows no redirects and retries on its own: a key set that cannot be fetched raises KeySetUnavailableError, which
 * the vendor never answers with another sign-in.
 */

export type CognitoTokenUse = 'id' | 'access';

export interface CognitoExpectation {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly tokenUse: CognitoTokenUse;
  /** Set for a Cognito-compatible endpoint; real Cognito derives it from the pool id. */
  readonly issuer?: string;
  /** Where the keys are; defaults to `<issuer>/.well-known/jwks.json`. */
  readonly jwksUri?: string;
  /** Longest `exp` - `iat` accepted. @default 86400 */
  readonly maxLifetimeSeconds?: number;
}

export interface GenericExpectation {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience?: string;
  /** Longest `exp` - `iat` accepted. @default 86400 */
  readonly maxLifetimeSeconds?: number;
}

/** A tenant's `jwt` settings and lifetime cap as what `verifyJwt` and `ensureKeys` expect. */
export function genericExpectation(
  jwt: { readonly issuer: string; readonly jwksUri: string; readonly audience?: string | undefined },
  maxLifetimeSeconds: number,
): GenericExpectation {
  return {
    issuer: jwt.issuer,
    jwksUri: jwt.jwksUri,
    ...(jwt.audience ? { audience: jwt.audience } : {}),
    maxLifetimeSeconds,
  };
}

export type JwtExpectation = CognitoExpectation | GenericExpectation;

export interface UpstreamJwtVerifier {
  verifyCognito(tenantId: string, token: string, expected: CognitoExpectation): Promise<JwtPayload>;
  verifyJwt(tenantId: string, token: string, expected: GenericExpectation): Promise<JwtPayload>;
  /**
   * Make sure the signing keys are at hand before a sign-in spends the password: fetches them once per key set.
   * Throws KeySetUnavailableError when they cannot be fetched.
   */
  ensureKeys(tenantId: string, expected: JwtExpectation): Promise<void>;
}

export interface AwsJwtVerifierOptions {
  /** Tolerance for `iat`, `nbf` and `exp` against this machine's clock. @default 30 */
  readonly clockSkewSeconds?: number;
  readonly fetcher?: JwksFetcherOptions;
  readonly clock?: { now(): number };
}

/** Token lifetime accepted when the expectation names none: one day, the tenant schema's default. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 86_400;

/** A fetcher for plain-http loopback key sets (tests, emulators): one attempt, no cooldown, no redirects. */
export const httpJwksFetcher: Fetcher = new RetryingJwksFetcher({ attempts: 1, cooldownSeconds: 0 });

interface Verifier {
  verify(token: string): Promise<JwtPayload>;
}

/** Real Cognito's issuer for a pool: `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
export function cognitoIssuer(userPoolId: string): string {
  return `https://cognito-idp.${userPoolId.split('_')[0]}.amazonaws.com/${userPoolId}`;
}

export function jwksUriOf(expected: JwtExpectation): string {
  if (expected.jwksUri) return expected.jwksUri;
  const issuer = 'userPoolId' in expected ? (expected.issuer ?? cognitoIssuer(expected.userPoolId)) : expected.issuer;
  return `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`;
}

/** The time rules aws-jwt-verify leaves to us: `exp` required, no `iat` from the future, a capped lifetime. */
export function checkTimes(
  payload: JwtPayload,
  nowSeconds: number,
  skewSeconds: number,
  maxLifetime = DEFAULT_MAX_LIFETIME_SECONDS,
): void {
  const { exp, iat } = payload;
  if (typeof exp !== 'number') throw new Error('the token has no exp claim');
  if (typeof iat === 'number' && iat > nowSeconds + skewSeconds)
    throw new Error('the token is issued in the future (iat)');
  const lifetime = exp - (typeof iat === 'number' ? iat : nowSeconds);
  if (lifetime > maxLifetime) {
    throw new Error(`the token lives ${lifetime} s, longer than the tenant's maximum of ${maxLifetime} s`);
  }
}

/**
 * RFC 7515 §4.1.11: a token that names header extensions it calls critical (`crit`) must be refused by a verifier
 * that does not understand them, and this one understands none. aws-jwt-verify does not check it.
 */
export function checkHeader(header: Readonly<Record<string, unknown>>): void {
  if (header.crit !== undefined) throw new Error('the token names critical header extensions (crit), none understood');
}

export class AwsJwtVerifier implements UpstreamJwtVerifier {
  private readonly verifiers = new Map<string, Verifier>();
  private readonly fetcher: RetryingJwksFetcher;
  private readonly jwksCache: SimpleJwksCache;
  private readonly keysReady = new Set<string>();
  private readonly skew: number;
  private readonly clock: { now(): number };

  constructor(options: AwsJwtVerifierOptions = {}) {
    this.skew = options.clockSkewSeconds ?? 30;
    this.clock = options.clock ?? Date;
    this.fetcher = new RetryingJwksFetcher({ clock: this.clock, ...options.fetcher });
    this.jwksCache = new SimpleJwksCache({ fetcher: this.fetcher });
  }

  async verifyCognito(tenantId: string, token: string, expected: CognitoExpectation): Promise<JwtPayload> {
    const verifier = this.verifierFor(['cognito', expected], () =>
      expected.issuer || expected.jwksUri ? this.emulatedCognitoVerifier(expected) : this.cognitoVerifier(expected),
    );
    return this.run(tenantId, `${expected.tokenUse} token`, jwksUriOf(expected), () => verifier.verify(token));
  }

  async verifyJwt(tenantId: string, token: string, expected: GenericExpectation): Promise<JwtPayload> {
    const verifier = this.verifierFor(['jwt', expected], () => {
      const created = JwtVerifier.create(
        {
          issuer: expected.issuer,
          audience: expected.audience ?? null,
          jwksUri: expected.jwksUri,
          graceSeconds: this.skew,
          customJwtCheck: ({ header, payload }) => this.checkToken(header, payload, expected.maxLifetimeSeconds),
        },
        { jwksCache: this.jwksCache },
      );
      return { verify: (jwt) => created.verify(jwt) };
    });
    return this.run(tenantId, 'token', expected.jwksUri, () => verifier.verify(token));
  }

  async ensureKeys(tenantId: string, expected: JwtExpectation): Promise<void> {
    const jwksUri = jwksUriOf(expected);
    if (this.keysReady.has(jwksUri)) return;
    await this.run(tenantId, 'signing keys', jwksUri, () => this.jwksCache.getJwks(jwksUri).then(() => ({})));
    this.keysReady.add(jwksUri);
  }

  private verifierFor(key: unknown, create: () => Verifier): Verifier {
    const id = JSON.stringify(key);
    let verifier = this.verifiers.get(id);
    if (!verifier) {
      verifier = create();
      this.verifiers.set(id, verifier);
    }
    return verifier;
  }

  /** What every verifier checks beyond aws-jwt-verify: the header (`crit`) and the time rules. */
  private checkToken(
    header: Readonly<Record<string, unknown>>,
    payload: JwtPayload,
    maxLifetime: number | undefined,
  ): void {
    checkHeader(header);
    checkTimes(payload, Math.floor(this.clock.now() / 1000), this.skew, maxLifetime);
  }

  private cognitoVerifier(expected: CognitoExpectation): Verifier {
    const created = CognitoJwtVerifier.create(
      {
        userPoolId: expected.userPoolId,
        clientId: expected.clientId,
        tokenUse: expected.tokenUse,
        graceSeconds: this.skew,
        customJwtCheck: ({ header, payload }) => this.checkToken(header, payload, expected.maxLifetimeSeconds),
      },
      { jwksCache: this.jwksCache },
    );
    return { verify: (jwt) => created.verify(jwt) };
  }

  /** Same checks as CognitoJwtVerifier, for an issuer or key set that is not Cognito's own URL. */
  private emulatedCognitoVerifier(expected: CognitoExpectation): Verifier {
    const created = JwtVerifier.create(
      {
        issuer: expected.issuer ?? cognitoIssuer(expected.userPoolId),
        jwksUri: jwksUriOf(expected),
        audience: null,
        graceSeconds: this.skew,
        customJwtCheck: ({ header, payload }) => {
          if (payload.token_use !== expected.tokenUse) throw new Error(`token_use is not ${expected.tokenUse}`);
          const client = expected.tokenUse === 'id' ? payload.aud : payload.client_id;
          const clients = Array.isArray(client) ? client : [client];
          if (!clients.includes(expected.clientId)) throw new Error('token was issued to another client');
          this.checkToken(header, payload, expected.maxLifetimeSeconds);
        },
      },
      { jwksCache: this.jwksCache },
    );
    return { verify: (jwt) => created.verify(jwt) };
  }

  private async run<T>(tenantId: string, what: string, jwksUri: string, verify: () => Promise<T>): Promise<T> {
    try {
      return await verify();
    } catch (error) {
      // The library's messages describe claims and keys, never the token itself.
      const detail = error instanceof Error ? error.message : String(error);
      if (error instanceof FetchError || error instanceof JwksValidationError || error instanceof JwkValidationError) {
        this.keysReady.delete(jwksUri);
        throw new KeySetUnavailableError(
          `The signing keys for tenant '${tenantId}' could not be fetched: ${detail}`,
          Math.max(1, this.fetcher.cooldownRemainingSeconds(jwksUri)),
        );
      }
      throw new UpstreamTokenInvalidError(
        `The upstream ${what} for tenant '${tenantId}' failed verification: ${detail}`,
      );
    }
  }
}
