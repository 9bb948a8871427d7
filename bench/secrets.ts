// Secrets Manager calls per 1,000 vends over 10 tenants within one cache TTL: one per tenant.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { DEFAULT_SECRET_PREFIX, ENV } from '../contract/names';
import { SecretsManagerTenantStore } from '../lambdas/adapters/secrets-manager-tenant-store';
import { composeRuntime } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import { startSecretsManager } from '../test/support/aws-json-emulators';
import { results, StaticProvider } from './support';

export async function benchSecrets(): Promise<void> {
  const secret = {
    provider: 'cognito',
    region: 'ap-southeast-2',
    userPoolId: 'ap-southeast-2_AbC123',
    clientId: 'client',
    username: 'u',
    password: 'p',
  };
  const secrets = Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`${DEFAULT_SECRET_PREFIX}/tenant-${i}`, secret]),
  );
  const emulator = await startSecretsManager(secrets);
  const client = new SecretsManagerClient({
    region: 'ap-southeast-2',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
    tenants: new SecretsManagerTenantStore({ prefix: DEFAULT_SECRET_PREFIX, client }),
    shared: null,
    providers: { cognito: new StaticProvider() },
  });
  for (let round = 0; round < 10; round++) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => runtime.vendor.vend(`tenant-${i % 10}`, 300)));
  }
  results['secrets.callsPer1000'] = emulator.calls.get('GetSecretValue') ?? 0;
  client.destroy();
  await emulator.close();
}
