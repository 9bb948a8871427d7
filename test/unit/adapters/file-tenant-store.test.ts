import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileTenantStore, StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { TenantMisconfiguredError, TenantNotFoundError } from '../../../lambdas/core/errors';
import { cognitoSecret, FakeClock, loginEndpointSecret } from '../../support/fakes';

function tenantsFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tvm-tenants-')), 'tenants.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('FileTenantStore', () => {
  it('serves tenants from the file, each validated on its own', async () => {
    const store = new FileTenantStore(
      tenantsFile({ acme: cognitoSecret, globex: { ...loginEndpointSecret, apiKey: '' } }),
    );
    expect(store.tenantIds()).toEqual(['acme', 'globex']);
    await expect(store.get('acme')).resolves.toMatchObject({ config: { provider: 'cognito' } });
    await expect(store.get('globex')).rejects.toBeInstanceOf(TenantMisconfiguredError);
    await expect(store.get('initech')).rejects.toBeInstanceOf(TenantNotFoundError);
  });

  it('picks up edits, with a new version for a changed tenant only', async () => {
    const clock = new FakeClock();
    const path = tenantsFile({ acme: cognitoSecret, globex: loginEndpointSecret });
    const store = new FileTenantStore(path, clock);
    const before = [(await store.get('acme')).version, (await store.get('globex')).version];
    writeFileSync(
      path,
      JSON.stringify({ acme: { ...cognitoSecret, password: 'Changed-1!' }, globex: loginEndpointSecret }),
    );
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    clock.advance(2);
    const after = [(await store.get('acme')).version, (await store.get('globex')).version];
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).toBe(before[1]);
  });

  it('fails clearly on a file that is not JSON, without quoting it', () => {
    expect(() => new FileTenantStore(tenantsFile('{"acme": {"password": "Sup3r-Secret-Pa55!"'))).toThrow(
      /not valid JSON/,
    );
    try {
      new FileTenantStore(tenantsFile('{"acme": {"password": "Sup3r-Secret-Pa55!"'));
    } catch (error) {
      expect((error as Error).message).not.toContain('Sup3r');
    }
  });

  it('rejects invalid tenant ids', () => {
    expect(() => new StaticTenantStore({ Not_Valid: cognitoSecret })).toThrow(/Not_Valid/);
  });
});
