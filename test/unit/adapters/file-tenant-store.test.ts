import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileTenantStore, StaticTenantStore, TenantsFileError } from '../../../lambdas/adapters/file-tenant-store';
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

  describe('while serving, one behaviour for every request', () => {
    let seconds = 10;
    /** Rewrite the file with a later modification time, as an editor would. */
    const rewrite = (path: string, content: unknown) => {
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
      seconds += 10;
      utimesSync(path, new Date(), new Date(Date.now() + seconds * 1000));
    };

    function setup() {
      const clock = new FakeClock();
      const path = tenantsFile({ acme: cognitoSecret });
      const warnings: string[] = [];
      const store = new FileTenantStore(path, { clock, warn: (message) => warnings.push(message) });
      /** 50 requests, one every 100 ms: every one must be served the same way. */
      const burst = async () => {
        const outcomes = new Set<string>();
        for (let i = 0; i < 50; i++) {
          clock.advance(0.1);
          outcomes.add(
            await store.get('acme').then(
              (record) => `ok:${record.version}`,
              (error: Error) => `error:${error.name}`,
            ),
          );
        }
        return [...outcomes];
      };
      return { clock, path, store, warnings, burst };
    }

    it('keeps the last good copy when the file turns invalid, warns once, and takes the next valid version', async () => {
      const { path, store, warnings, burst } = setup();
      const good = (await store.get('acme')).version;
      rewrite(path, '{"acme": {"password": "Sup3r-Secret-Pa55!"');
      expect(await burst()).toEqual([`ok:${good}`]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/not valid JSON.*last good copy \(1 tenants\)/);
      expect(warnings[0]).not.toContain('Sup3r');

      rewrite(path, { acme: { ...cognitoSecret, password: 'Changed-1!' } });
      // Within the re-read interval the old copy is still served; then the new version, for good.
      const outcomes = await burst();
      expect(outcomes.every((outcome) => outcome.startsWith('ok:'))).toBe(true);
      expect(outcomes.at(-1)).not.toBe(`ok:${good}`);
      expect(await burst()).toEqual([outcomes.at(-1)]);
      expect(warnings).toHaveLength(1);
    });

    it('keeps the last good copy when the file disappears or holds the wrong shape, warning once per problem', async () => {
      const { path, store, warnings, burst } = setup();
      const good = (await store.get('acme')).version;
      rmSync(path);
      expect(await burst()).toEqual([`ok:${good}`]);
      rewrite(path, ['not', 'an', 'object']);
      expect(await burst()).toEqual([`ok:${good}`]);
      rewrite(path, { Bad_Id: cognitoSecret });
      expect(await burst()).toEqual([`ok:${good}`]);
      expect(warnings.map((w) => w.replace(path, '<file>'))).toEqual([
        expect.stringMatching(/^Tenants file <file> does not exist\./),
        expect.stringMatching(/must hold an object of tenant id -> secret/),
        expect.stringMatching(/Tenant id 'Bad_Id' is not valid/),
      ]);
    });

    it('reports tenants with invalid secrets: all of them at start, a newly broken one once after a reload', async () => {
      const { path, store, warnings, clock } = setup();
      expect(store.problems()).toEqual([]);
      rewrite(path, { acme: cognitoSecret, globex: { ...loginEndpointSecret, apiKey: '' } });
      for (let i = 0; i < 3; i++) {
        clock.advance(2);
        await store.get('acme');
      }
      expect(warnings).toEqual([expect.stringMatching(/globex.*apiKey/)]);
      const atStart = new FileTenantStore(path).problems();
      expect(atStart).toEqual([{ tenantId: 'globex', message: expect.stringMatching(/globex.*apiKey/) }]);
      expect(JSON.stringify(atStart) + warnings.join()).not.toContain(loginEndpointSecret.password);
    });
  });

  it('refuses to start on a missing file, naming it', () => {
    expect(() => new FileTenantStore('/nonexistent/tenants.json')).toThrow(TenantsFileError);
    expect(() => new FileTenantStore('/nonexistent/tenants.json')).toThrow(
      /\/nonexistent\/tenants.json does not exist/,
    );
  });
});
