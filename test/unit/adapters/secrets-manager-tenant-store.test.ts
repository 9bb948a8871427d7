import {
  DecryptionFailure,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import { SecretsManagerTenantStore } from '../../../lambdas/adapters/secrets-manager-tenant-store';
import {
  TenantMisconfiguredError,
  TenantNotFoundError,
  toErrorResponse,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import { cognitoSecret, FakeClock } from '../../support/fakes';

const secrets = mockClient(SecretsManagerClient);

function store(clock = new FakeClock()) {
  return {
    clock,
    store: new SecretsManagerTenantStore({
      prefix: 'tvm/tenants/',
      ttlSeconds: 300,
      client: new SecretsManagerClient({}),
      clock,
    }),
  };
}

beforeEach(() => secrets.reset());

describe('SecretsManagerTenantStore', () => {
  it('reads <prefix>/<tenantId> and uses the VersionId as the tenant version', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' });
    const record = await store().store.get('acme');
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'tvm/tenants/acme' });
    expect(record).toMatchObject({ tenantId: 'acme', version: 'v-1', config: { provider: 'cognito' } });
  });

  it('caches within the TTL and shares one call among concurrent readers', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' });
    const { store: tenants, clock } = store();
    await Promise.all(Array.from({ length: 50 }, () => tenants.get('acme')));
    clock.advance(299);
    await tenants.get('acme');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('notices a new version after the TTL', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' })
      .resolves({ SecretString: JSON.stringify({ ...cognitoSecret, password: 'Rotated-1!' }), VersionId: 'v-2' });
    const { store: tenants, clock } = store();
    expect((await tenants.get('acme')).version).toBe('v-1');
    clock.advance(301);
    expect((await tenants.get('acme')).version).toBe('v-2');
  });

  it('reads again at once after invalidate()', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' });
    const { store: tenants } = store();
    await tenants.get('acme');
    tenants.invalidate('acme');
    await tenants.get('acme');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('maps a missing secret to tenant_not_found and remembers it briefly', async () => {
    secrets.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    const { store: tenants } = store();
    await expect(tenants.get('ghost')).rejects.toBeInstanceOf(TenantNotFoundError);
    await expect(tenants.get('ghost')).rejects.toBeInstanceOf(TenantNotFoundError);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('says when it answers from memory: after a read or a refusal, until the TTL or invalidate()', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: 'tvm/tenants/acme' })
      .resolves({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' })
      .on(GetSecretValueCommand, { SecretId: 'tvm/tenants/ghost' })
      .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    const { store: tenants, clock } = store();
    expect(tenants.answersFromMemory('acme')).toBe(false);
    await tenants.get('acme');
    await expect(tenants.get('ghost')).rejects.toBeInstanceOf(TenantNotFoundError);
    expect(tenants.answersFromMemory('acme')).toBe(true);
    expect(tenants.answersFromMemory('ghost')).toBe(true);
    clock.advance(31); // the refusal is remembered for 30 s, the secret for 300 s
    expect(tenants.answersFromMemory('ghost')).toBe(false);
    expect(tenants.answersFromMemory('acme')).toBe(true);
    tenants.invalidate('acme');
    expect(tenants.answersFromMemory('acme')).toBe(false);
  });

  it('maps a malformed secret to tenant_misconfigured without its value', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ ...cognitoSecret, region: 'Sup3r-Secret-Pa55!' }), VersionId: 'v-1' });
    const error = await store()
      .store.get('acme')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenantMisconfiguredError);
    expect((error as Error).message).toContain('region');
    expect((error as Error).message).not.toContain('Sup3r-Secret-Pa55!');
  });

  it('rejects a binary secret', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]), VersionId: 'v-1' });
    await expect(store().store.get('acme')).rejects.toBeInstanceOf(TenantMisconfiguredError);
  });

  it('keeps using the last good copy when Secrets Manager fails', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' })
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const { store: tenants, clock } = store();
    await tenants.get('acme');
    clock.advance(301);
    await expect(tenants.get('acme')).resolves.toMatchObject({ version: 'v-1' });
  });

  it('answers 503 when Secrets Manager fails and nothing is cached', async () => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(store().store.get('acme')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it.each([
    [
      'DecryptionFailure',
      () =>
        new DecryptionFailure({
          message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
          $metadata: { httpStatusCode: 400 },
        }),
      /kms:Decrypt/,
    ],
    [
      'AccessDeniedException',
      () =>
        Object.assign(
          new Error(
            'User: arn:aws:sts::123456789012:assumed-role/tvm-vend is not authorized to perform: secretsmanager:GetSecretValue',
          ),
          { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } },
        ),
      /resource policy/,
    ],
  ])('answers %s as tenant_misconfigured naming what to grant, and remembers it', async (_name, error, hint) => {
    secrets.on(GetSecretValueCommand).rejects(error());
    const { store: tenants, clock } = store();
    const refused = await tenants.get('acme').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TenantMisconfiguredError);
    expect(toErrorResponse(refused)).toMatchObject({ status: 500, code: 'tenant_misconfigured' });
    expect((refused as Error).message).toMatch(hint);
    expect((refused as Error).message).toContain("'acme'");
    // Remembered for the negative TTL: a burst of requests does not ask Secrets Manager again each time.
    for (let i = 0; i < 20; i++) await tenants.get('acme').catch(() => undefined);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    clock.advance(31);
    await tenants.get('acme').catch(() => undefined);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  describe('deleted secrets stop the tenant', () => {
    // The errors real Secrets Manager answers GetSecretValue with, by name and message.
    const deleted = () =>
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: { httpStatusCode: 400 },
      });
    const scheduledForDeletion = () =>
      new InvalidRequestException({
        message: "You can't perform this operation on the secret because it was marked for deletion.",
        $metadata: { httpStatusCode: 400 },
      });

    it.each([
      ['deleted (ResourceNotFoundException)', deleted],
      ['scheduled for deletion (InvalidRequestException)', scheduledForDeletion],
    ])('a secret %s is 404 tenant_not_found, even with a good copy cached, within one TTL', async (_name, error) => {
      secrets
        .on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' })
        .rejects(error());
      const { store: tenants, clock } = store();
      await tenants.get('acme');
      clock.advance(299);
      await expect(tenants.get('acme')).resolves.toMatchObject({ version: 'v-1' }); // within the TTL: cached
      clock.advance(2);
      const refused = await tenants.get('acme').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TenantNotFoundError);
      expect(toErrorResponse(refused)).toMatchObject({ status: 404, code: 'tenant_not_found' });
    });

    it('forgets the last good copy once the secret is gone: a later outage is 503, not the deleted tenant', async () => {
      secrets
        .on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' })
        .rejectsOnce(scheduledForDeletion())
        .rejects(new InternalServiceError({ message: 'internal', $metadata: { httpStatusCode: 500 } }));
      const { store: tenants, clock } = store();
      await tenants.get('acme');
      clock.advance(301);
      await expect(tenants.get('acme')).rejects.toBeInstanceOf(TenantNotFoundError);
      clock.advance(31);
      await expect(tenants.get('acme')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    });

    it('a real outage (InternalServiceError) keeps serving the last good copy', async () => {
      secrets
        .on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: JSON.stringify(cognitoSecret), VersionId: 'v-1' })
        .rejects(new InternalServiceError({ message: 'internal', $metadata: { httpStatusCode: 500 } }));
      const { store: tenants, clock } = store();
      await tenants.get('acme');
      clock.advance(301);
      await expect(tenants.get('acme')).resolves.toMatchObject({ version: 'v-1' });
    });
  });
});
