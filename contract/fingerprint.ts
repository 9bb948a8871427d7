// Token fingerprints: how the service (audit log, `rejected=`) and the client name a token without revealing it.

import { createHash } from 'node:crypto';

import type { VendedTokens } from './api';

/** The token a session is identified by: the ID token (Cognito) or the login token, else the access token. */
export function primaryToken(tokens: VendedTokens): string {
  return tokens.idToken ?? tokens.token ?? tokens.accessToken ?? '';
}

/** Short SHA-256 fingerprint (16 hex digits): names a token in audits and in `rejected=` without revealing it. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** What a `rejected=` value looks like. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;
