// A server-side verifier of Cognito's USER_SRP_AUTH, written from the published protocol (SRP-6a over the
// RFC 5054 3072-bit group, SHA-256, Cognito's HKDF "Caldera Derived Key" and PASSWORD_CLAIM_SIGNATURE) with
// native BigInt and node:crypto. It shares no code with the client library, so a passing exchange shows the
// client computes what Cognito checks.

import { createHash, createHmac, randomBytes } from 'node:crypto';

/** The RFC 5054 3072-bit prime, written out here apart from the code under test. */
export const N = BigInt(
  '0x' +
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F' +
    '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510' +
    '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
    'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C' +
    'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF',
);
const g = 2n;

/** Java BigInteger.toByteArray() as hex: even length, a leading 00 when the top bit is set. */
function padHex(value: bigint): string {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return /^[89a-f]/.test(hex) ? `00${hex}` : hex;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const hexHash = (hex: string) => sha256(Buffer.from(hex, 'hex')).toString('hex').padStart(64, '0');

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

const k = BigInt(`0x${hexHash(padHex(N) + padHex(g))}`);

export interface SrpUser {
  readonly userId: string;
  readonly salt: string;
  readonly verifier: bigint;
}

/** Registration: what Cognito stores for a user (salt and verifier v = g^x mod N), never the password. */
export function registerUser(poolId: string, userId: string, password: string): SrpUser {
  const poolName = poolId.split('_')[1] ?? '';
  const salt = padHex(BigInt(`0x${randomBytes(16).toString('hex')}`));
  const inner = sha256(`${poolName}${userId}:${password}`).toString('hex').padStart(64, '0');
  const x = BigInt(`0x${hexHash(salt + inner)}`);
  return { userId, salt, verifier: modPow(g, x, N) };
}

/** Cognito's timestamp format, e.g. `Mon Nov 3 09:05:07 UTC 2026` (day of month not padded). */
const TIMESTAMP =
  /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9]|[12]\d|3[01]) \d\d:\d\d:\d\d UTC \d{4}$/;

export interface SrpChallenge {
  readonly SRP_B: string;
  readonly SALT: string;
  readonly SECRET_BLOCK: string;
  readonly USER_ID_FOR_SRP: string;
}

export interface SrpProof {
  readonly PASSWORD_CLAIM_SIGNATURE: string;
  readonly PASSWORD_CLAIM_SECRET_BLOCK: string;
  readonly TIMESTAMP: string;
}

/** One SRP exchange as Cognito runs it: `challenge(A)` then `verify(proof)`. */
export class SrpServerSession {
  private readonly b = BigInt(`0x${randomBytes(128).toString('hex')}`) % N;
  private readonly B: bigint;
  private readonly secretBlock = randomBytes(64).toString('base64');
  private A = 0n;

  constructor(
    private readonly poolId: string,
    private readonly user: SrpUser,
  ) {
    this.B = (k * user.verifier + modPow(g, this.b, N)) % N;
  }

  challenge(srpA: string): SrpChallenge {
    if (!/^[0-9a-fA-F]+$/.test(srpA)) throw new Error('SRP_A is not hex');
    this.A = BigInt(`0x${srpA}`);
    if (this.A % N === 0n) throw new Error('SRP_A is 0 mod N');
    return {
      SRP_B: this.B.toString(16),
      SALT: this.user.salt,
      SECRET_BLOCK: this.secretBlock,
      USER_ID_FOR_SRP: this.user.userId,
    };
  }

  /** True when the client proved knowledge of the password for this exchange. */
  verify(proof: SrpProof): boolean {
    if (proof.PASSWORD_CLAIM_SECRET_BLOCK !== this.secretBlock) return false;
    if (!TIMESTAMP.test(proof.TIMESTAMP)) return false;
    const u = BigInt(`0x${hexHash(padHex(this.A) + padHex(this.B))}`);
    if (u === 0n) return false;
    const S = modPow(this.A * modPow(this.user.verifier, u, N), this.b, N);
    const prk = createHmac('sha256', Buffer.from(padHex(u), 'hex'))
      .update(Buffer.from(padHex(S), 'hex'))
      .digest();
    const key = createHmac('sha256', prk)
      .update(Buffer.concat([Buffer.from('Caldera Derived Key', 'utf8'), Buffer.from([1])]))
      .digest()
      .subarray(0, 16);
    const poolName = this.poolId.split('_')[1] ?? '';
    const expected = createHmac('sha256', key)
      .update(
        Buffer.concat([
          Buffer.from(poolName, 'utf8'),
          Buffer.from(this.user.userId, 'utf8'),
          Buffer.from(this.secretBlock, 'base64'),
          Buffer.from(proof.TIMESTAMP, 'utf8'),
        ]),
      )
      .digest('base64');
    return expected === proof.PASSWORD_CLAIM_SIGNATURE;
  }
}
