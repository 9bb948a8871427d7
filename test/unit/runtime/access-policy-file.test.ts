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
