import { createHash } from 'node:crypto';

import type { Session } from './ports';

/** The token a session is identified by: the ID token (Cognito) or the login token. */
export function primaryToken(tokens: Session['tokens']): string {
  return tokens.idToken ?? tokens.token ?? tokens.accessToken ?? '';
}

/** Short SHA-256 fingerprint: names a token in audits and in `rejected=` without revealing it. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}
