import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

import type {
  CognitoExpectation,
  GenericExpectation,
  JwtExpectation,
  UpstreamJwtVerifier,
} from '../../lambdas/adapters/jwt-verifier';
import { KeySetUnavailableError, UpstreamTokenInvalidError } from '../../lambdas/core/errors';

/** Decodes instead of verifying (signatures are covered in jwt-verifier.test.ts) and records what it was asked to pin. */
export class RecordingVerifier implements UpstreamJwtVerifier {
  readonly cognitoCalls: CognitoExpectation[] = [];
  readonly jwtCalls: GenericExpectation[] = [];
  readonly ensureKeysCalls: JwtExpectation[] = [];
  reject = false;
  /** ensureKeys throws KeySetUnavailableError, as when the JWKS cannot be fetched. */
  keysUnavailable = false;

  async ensureKeys(tenantId: string, expected: JwtExpectation): Promise<void> {
    this.ensureKeysCalls.push(expected);
    if (this.keysUnavailable) throw new KeySetUnavailableError(`keys for ${tenantId} unavailable`);
  }

  async verifyCognito(tenantId: string, token: string, expected: CognitoExpectation): Promise<JwtPayload> {
    this.cognitoCalls.push(expected);
    return this.decode(tenantId, token);
  }

  async verifyJwt(tenantId: string, token: string, expected: GenericExpectation): Promise<JwtPayload> {
    this.jwtCalls.push(expected);
    return this.decode(tenantId, token);
  }

  private decode(tenantId: string, token: string): JwtPayload {
    if (this.reject) throw new UpstreamTokenInvalidError(`token for ${tenantId} failed verification`);
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as JwtPayload;
  }
}

/** An unsigned JWT-shaped string with the given claims. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}.c2lnbmF0dXJl`;
}
