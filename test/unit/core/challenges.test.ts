// Challenge names come from the upstream: they reach answers, logs and the fleet's lockout mark.
import { challengeNameOf, challengeRequired } from '../../../lambdas/core/challenges';

describe('challengeRequired', () => {
  it.each([
    ['constructor', 'a prototype member, not a hint'],
    ['__proto__', 'a prototype member, not a hint'],
    ['SMS_MFA\r\nX-Injected: 1', 'a line break'],
    ['A'.repeat(65), 'over 64 characters'],
    ['sms_mfa', 'not a challenge name'],
    ['', 'empty'],
  ])('does not quote the name %j (%s)', (sent) => {
    const error = challengeRequired('acme', sent);
    expect(error.challengeName).toBe('UNRECOGNIZED_CHALLENGE');
    expect(error.message).toContain('an operator must complete it');
    expect(error.message).not.toContain('function');
    expect(error.message).not.toContain('\n');
  });

  it('keeps a name that looks like one, with its hint if known', () => {
    expect(challengeNameOf('PASSKEY_2026')).toBe('PASSKEY_2026');
    expect(challengeRequired('acme', 'MFA_SETUP').message).toMatch(/MFA_SETUP.*exempt the service user/);
    expect(challengeRequired('acme', 'MFA_SETUP').retryAfterSeconds).toBeUndefined();
  });
});
