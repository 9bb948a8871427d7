import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * An RSA key and a signer that will put anything in a JWT: the hostile upstreams
 * use it to mint tokens that are valid, expired, subject-swapped, header-less, ...
 */
export interface TokenMinter {
  readonly kid: string;
  /** The public key set, as a JWKS endpoint serves it. */
  readonly jwks: { keys: Record<string, unknown>[] };
  /** A correctly signed RS256 JWT with these claims (header fields may be overridden). */
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): string;
  /** Signs arbitrary header and payload text, e.g. a header that is not JSON. */
  signRaw(headerText: string, payloadText: string): string;
}

let keyPair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

/** One RSA key per test process (generating one takes long on a busy machine); each minter has its own kid. */
export function createTokenMinter(kid = 'hostile-key'): TokenMinter {
  keyPair ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey, publicKey } = keyPair;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const signRaw = (headerText: string, payloadText: string, key: KeyObject = privateKey): string => {
    const data = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
    return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
  };
  return {
    kid,
    jwks: { keys: [jwk] },
    sign: (claims, header = {}) =>
      signRaw(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid, ...header }), JSON.stringify(claims)),
    signRaw: (headerText, payloadText) => signRaw(headerText, payloadText),
  };
}

/** Epoch seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
