import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ACCESS_POLICY_FILE_NAME, ENV } from '../../../contract/names';
import { AccessPolicy } from '../../../lambdas/core/access-policy';
import { ConfigError, loadRuntimeConfig } from '../../../lambdas/runtime/config';

const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;

describe('access policy file (TVM_ACCESS_POLICY_FILE)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tvm-policy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: unknown) => {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    return join(dir, name);
  };

  it('resolves a relative path against LAMBDA_TASK_ROOT and merges the file with TVM_CONSUMERS', () => {
    write(ACCESS_POLICY_FILE_NAME, { consumers: [{ principal: role('from-file'), tenants: ['acme'] }] });
    const config = loadRuntimeConfig({
      LAMBDA_TASK_ROOT: dir,
      [ENV.accessPolicyFile]: ACCESS_POLICY_FILE_NAME,
      [ENV.consumers]: JSON.stringify([{ principal: role('from-env'), tenants: ['globex'] }]),
    });
    const policy = new AccessPolicy(config.consumers);
    expect(policy.isAllowed(`arn:aws:sts::123456789012:assumed-role/from-file/s1`, 'acme')).toBe(true);
    expect(policy.isAllowed(role('from-file'), 'globex')).toBe(false);
    expect(policy.isAllowed(role('from-env'), 'globex')).toBe(true);
  });

  it('completes the roles the stack created (ownRoles, by name) with TVM_OWN_ROLE_ARN_PREFIX', () => {
    const file = write('own.json', {
      consumers: [{ principal: role('reader'), tenants: ['acme'] }],
      ownRoles: [{ roleName: 'tvm-export-daily-1a2b3c4d', tenants: ['globex'] }],
    });
    const config = loadRuntimeConfig({
      [ENV.accessPolicyFile]: file,
      [ENV.ownRoleArnPrefix]: 'arn:aws-cn:iam::210987654321:role/',
    });
    const policy = new AccessPolicy(config.consumers);
    const session = 'arn:aws-cn:sts::210987654321:assumed-role/tvm-export-daily-1a2b3c4d/export-run';
    expect(policy.isAllowed(session, 'globex')).toBe(true);
    expect(policy.isAllowed(session, 'acme')).toBe(false);
    // The same name in another account or partition is another role.
    expect(policy.isAllowed('arn:aws-cn:sts::123456789012:assumed-role/tvm-export-daily-1a2b3c4d/s', 'globex')).toBe(
      false,
    );
    expect(policy.isAllowed('arn:aws:sts::210987654321:assumed-role/tvm-export-daily-1a2b3c4d/s', 'globex')).toBe(
      false,
    );
    expect(() => loadRuntimeConfig({ [ENV.accessPolicyFile]: file })).toThrow(
      /TVM_OWN_ROLE_ARN_PREFIX: must be arn:<partition>:iam::<account>:role\/ when .*own\.json lists ownRoles \(got nothing\)/,
    );
    expect(() =>
      loadRuntimeConfig({ [ENV.accessPolicyFile]: file, [ENV.ownRoleArnPrefix]: 'arn:aws:iam::21098765432:role/' }),
    ).toThrow(/TVM_OWN_ROLE_ARN_PREFIX: must be/);
    // With the region suffix the stack gives export roles.
    const regional = loadRuntimeConfig({
      [ENV.accessPolicyFile]: file,
      [ENV.ownRoleArnPrefix]: 'arn:aws:iam::210987654321:role/',
      [ENV.ownRoleNameSuffix]: '-eu-central-1',
    });
    const inRegion = new AccessPolicy(regional.consumers);
    expect(
      inRegion.isAllowed('arn:aws:sts::210987654321:assumed-role/tvm-export-daily-1a2b3c4d-eu-central-1/s', 'globex'),
    ).toBe(true);
    expect(inRegion.isAllowed('arn:aws:sts::210987654321:assumed-role/tvm-export-daily-1a2b3c4d/s', 'globex')).toBe(
      false,
    );
    const badName = write('bad-own.json', { consumers: [], ownRoles: [{ roleName: 'a/b', tenants: ['x'] }] });
    expect(() => loadRuntimeConfig({ [ENV.accessPolicyFile]: badName })).toThrow(
      /bad-own\.json\.ownRoles\.0\.roleName: must be an IAM role name/,
    );
  });

  it('holds 500 consumers that no environment could', () => {
    const consumers = Array.from({ length: 500 }, (_, i) => ({
      principal: role(`consumer-${i}`),
      tenants: Array.from({ length: 10 }, (_, j) => `tenant-${i * 10 + j}`),
    }));
    const file = write('big.json', { consumers });
    const config = loadRuntimeConfig({ [ENV.accessPolicyFile]: file });
    expect(config.consumers).toHaveLength(500);
    expect(new AccessPolicy(config.consumers).isAllowed(role('consumer-499'), 'tenant-4999')).toBe(true);
  });

  it.each([
    ['a missing file', undefined, /TVM_ACCESS_POLICY_FILE: cannot read .*missing\.json \(ENOENT\)/],
    ['bad JSON', '{"consumers": [', /TVM_ACCESS_POLICY_FILE: .*bad\.json is not valid JSON/],
    [
      'a bad principal',
      { consumers: [{ principal: 'someone', tenants: ['acme'] }] },
      /TVM_ACCESS_POLICY_FILE: .*\.json\.consumers\.0\.principal: must be an IAM role or user ARN/,
    ],
    ['an unknown key', { consumers: [], tenants: [] }, /TVM_ACCESS_POLICY_FILE: .*Unrecognized key/],
  ])('refuses %s, naming the variable, file and field', (_name, content, message) => {
    const name = _name === 'a missing file' ? 'missing.json' : _name === 'bad JSON' ? 'bad.json' : `${_name}.json`;
    const file = content === undefined ? join(dir, name) : write(name, content);
    expect(() => loadRuntimeConfig({ [ENV.accessPolicyFile]: file })).toThrow(ConfigError);
    expect(() => loadRuntimeConfig({ [ENV.accessPolicyFile]: file })).toThrow(message);
  });
});
