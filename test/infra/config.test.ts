import { readFileSync } from 'node:fs';

import { parseDeploymentConfig } from '../../lib/config';
import { exampleConfig, exampleConfigPath } from './support';

describe('deployment config validation', () => {
  const base = JSON.parse(readFileSync(exampleConfigPath, 'utf8'));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a bad principal ARN',
      { consumers: [{ principal: 'arn:aws:iam::12345:role/x', tenants: ['acme'] }] },
      /consumers\.0\.principal: .*got "arn:aws:iam::12345:role\/x"/,
    ],
    ['a bad tenant id', { tenants: ['Acme_Corp'] }, /tenants\.0: .*got "Acme_Corp"/],
    ['empty consumers', { consumers: [] }, /consumers: must list at least one consumer/],
    ['an unknown key', { alarmEmial: 'x@example.com' }, /alarmEmial/],
    ['a bad schedule', { refreshSchedule: 'every 5 minutes' }, /refreshSchedule: .*got "every 5 minutes"/],
    ['a bad retention', { logRetentionDays: 10 }, /logRetentionDays: .*got 10/],
  ];

  it.each(cases)('rejects %s, naming the field and value', (_name, change, message) => {
    expect(() => parseDeploymentConfig({ ...base, ...change }, 'test.json')).toThrow(message);
  });

  it('accepts the example config', () => {
    expect(exampleConfig.consumers.length).toBeGreaterThan(0);
  });
});
