// srp-proof.ts against cognito-srp-helper as the oracle (the library the service used before; a dev dependency now):
// the same secret a and the same challenge must give the same SRP_A, TIMESTAMP and PASSWORD_CLAIM_SIGNATURE, over
// random users, passwords, pools, salts, secret blocks and server values. The helper's big-number arithmetic is slow
// (jsbn), hence the modest run counts.

import { createSrpSession, signSrpSession } from 'cognito-srp-helper';
import fc from 'fast-check';

import {
  cognitoTimestamp,
  padHex,
  passwordClaimSignature,
  SrpAbortError,
  srpLargeA,
  srpSmallA,
} from '../../../lambdas/providers/srp-proof';
import { N } from '../../support/srp-server';

const hexOfBytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes).toString('hex'));
const poolId = fc
  .tuple(fc.constantFrom('ap-southeast-2', 'us-east-1', 'eu-west-1'), fc.stringMatching(/^[0-9a-zA-Z]{1,12}$/))
  .map(([region, id]) => `${region}_${id}`);
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
/** SRP_B: any non-zero residue, sometimes with leading zeros, sometimes above N (the helper does not reduce it). */
const srpB = fc.oneof(
  fc.bigInt({ min: 1n, max: N - 1n }).map((b) => b.toString(16)),
  fc.bigInt({ min: 1n, max: N - 1n }).map((b) => `000${b.toString(16)}`),
  fc.bigInt({ min: N + 1n, max: 2n * N - 1n }).map((b) => b.toString(16)),
);
const challenge = fc.record({
  userIdForSrp: text,
  srpB,
  // Random bytes: leading zero bytes and a set top bit both occur, so padHex's two rules are exercised.
  salt: hexOfBytes(1, 128).filter((hex) => /[^0]/.test(hex)),
  secretBlock: fc.uint8Array({ minLength: 1, maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString('base64')),
});

afterEach(() => jest.useRealTimers());

describe('srp-proof against cognito-srp-helper', () => {
  it("gives the helper's SRP_A for the helper's own a, and its TIMESTAMP for the same instant", () => {
    jest.useFakeTimers();
    fc.assert(
      fc.property(
        text,
        text,
        poolId,
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59Z'), noInvalidDate: true }),
        (username, password, pool, now) => {
          jest.setSystemTime(now);
          const session = createSrpSession(username, password, pool, false);
          expect(srpLargeA(BigInt(`0x${session.smallA}`))).toBe(session.largeA);
          expect(cognitoTimestamp(now)).toBe(session.timestamp);
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);

  it('signs every challenge as the helper does for the same a, user, password and timestamp', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: (1n << 1024n) - 1n }),
        text,
        poolId,
        challenge,
        (smallA, password, pool, c) => {
          const largeA = srpLargeA(smallA);
          const timestamp = 'Tue Nov 3 09:05:07 UTC 2026';
          const session = {
            username: 'alias@example.com',
            poolId: pool,
            poolIdAbbr: pool.split('_')[1] ?? '',
            password,
            isHashed: false,
            timestamp,
            smallA: smallA.toString(16),
            largeA,
          };
          const expected = signSrpSession(session, {
            ChallengeParameters: {
              SRP_B: c.srpB,
              SALT: c.salt,
              SECRET_BLOCK: c.secretBlock,
              USER_ID_FOR_SRP: c.userIdForSrp,
            },
          }).passwordSignature;
          const signature = passwordClaimSignature({
            userPoolId: pool,
            userIdForSrp: c.userIdForSrp,
            password,
            smallA,
            largeA,
            srpB: c.srpB,
            salt: c.salt,
            secretBlock: c.secretBlock,
            timestamp,
          });
          expect(signature).toBe(expected);
        },
      ),
      { numRuns: 50 },
    );
  }, 60_000);

  it.each([
    ['midnight on a single-digit day', '2026-03-01T00:00:00Z'],
    ['the last second of a year', '2025-12-31T23:59:59Z'],
    ['noon in September', '2024-09-09T12:00:00Z'],
  ])('formats %s as the helper does', (_what, iso) => {
    jest.useFakeTimers({ now: new Date(iso) });
    expect(cognitoTimestamp(new Date(iso))).toBe(createSrpSession('u', 'p', 'ap-southeast-2_abc', false).timestamp);
  });
});

describe('srp-proof on its own', () => {
  it('pads hex as Java BigInteger.toByteArray() does', () => {
    expect(padHex(0n)).toBe('00');
    expect(padHex(0xfn)).toBe('0f');
    expect(padHex(0x7fn)).toBe('7f');
    expect(padHex(0x80n)).toBe('0080');
    expect(padHex(0xabcn)).toBe('0abc');
  });

  it('draws a fresh 1024-bit secret each time', () => {
    const a = srpSmallA();
    expect(a).not.toBe(srpSmallA());
    expect(a < 1n << 1024n).toBe(true);
  });

  it.each([
    ['0', '0'],
    ['N', N.toString(16)],
    ['2N', (2n * N).toString(16)],
  ])('refuses SRP_B = %s (0 mod N) with AbortOnZeroBSrpError', (_what, srpBHex) => {
    const smallA = srpSmallA();
    const sign = () =>
      passwordClaimSignature({
        userPoolId: 'ap-southeast-2_abc',
        userIdForSrp: 'user',
        password: 'pw',
        smallA,
        largeA: srpLargeA(smallA),
        srpB: srpBHex,
        salt: 'ab',
        secretBlock: 'c2VjcmV0',
        timestamp: 'Tue Nov 3 09:05:07 UTC 2026',
      });
    expect(sign).toThrow(SrpAbortError);
    expect(sign).toThrow(expect.objectContaining({ name: 'AbortOnZeroBSrpError' }));
  });
});
