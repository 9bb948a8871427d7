// A config error at synth names the bad key without printing the whole config (issue 10, item 6).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeploymentConfigError, loadDeploymentConfig, parseDeploymentConfig } from '../../lib/config';
import { exampleConfigPath } from './support';

const base = JSON.parse(readFileSync(exampleConfigPath, 'utf8')) as Record<string, unknown>;

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DeploymentConfigError);
    expect((error as Error).name).toBe('DeploymentConfigError');
    return (error as Error).message;
  }
  throw new Error('expected a DeploymentConfigError');
}

describe('deployment config error messages', () => {
  it('names an unknown key without printing the rest of the config', () => {
    const message = messageOf(() => parseDeploymentConfig({ ...base, alarmEmial: 'x@example.com' }, 'prod.json'));
    expect(message).toContain('alarmEmial');
    for (const consumer of base.consumers as Array<{ principal: string }>)
      expect(message).not.toContain(consumer.principal);
    expect(message.split('\n').length).toBeLessThanOrEqual(3);
  });

  it('names a bad nested object by its path without printing the object', () => {
    const message = messageOf(() =>
      parseDeploymentConfig({ ...base, consumers: [{ principal: 'arn:aws:iam::123456789012:role/x', tenant: ['a'] }] }),
    );
    expect(message).toMatch(/consumers\.0/);
    expect(message).not.toContain('{"principal"');
  });

  it('shortens a long scalar value', () => {
    const message = messageOf(() => parseDeploymentConfig({ ...base, refreshSchedule: 'x'.repeat(500) }));
    expect(message).toMatch(/refreshSchedule: .*got "x+\.\.\.\)/);
    expect(message.length).toBeLessThan(300);
  });

  it('keeps the cause of an unreadable or invalid file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tvm-config-'));
    try {
      const missing = join(dir, 'missing.json');
      expect(() => loadDeploymentConfig(missing)).toThrow(
        expect.objectContaining({ cause: expect.objectContaining({ code: 'ENOENT' }) }),
      );
      const broken = join(dir, 'broken.json');
      writeFileSync(broken, '{"stackName": ');
      expect(() => loadDeploymentConfig(broken)).toThrow(expect.objectContaining({ cause: expect.any(SyntaxError) }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
