import { readFileSync } from 'node:fs';

import { parseDeploymentConfig } from '../../lib/config';
import { exampleConfig, exampleConfigPath, synth } from './support';

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
    [
      'a five-field cron Scheduler refuses at deploy',
      { refreshSchedule: 'cron(*/5 * * * *)' },
      /refreshSchedule: a cron expression has six fields.*not 5/,
    ],
    [
      'a cron with both day fields set',
      { refreshSchedule: 'cron(0 9 * * MON-FRI *)' },
      /refreshSchedule: a cron expression needs '\?' in exactly one of day-of-month and day-of-week/,
    ],
    ['a zero rate', { refreshSchedule: 'rate(0 minutes)' }, /refreshSchedule: a rate must be at least 1/],
    [
      'an export job schedule Scheduler refuses',
      {
        exportJobs: [
          {
            name: 'j',
            tenant: 'acme',
            schedule: 'cron(0 9 * * ?)',
            kind: 'rest',
            baseUrl: 'https://rest.example.com',
            path: '/v1/x',
            pagination: { type: 'page', size: 10 },
          },
        ],
      },
      /exportJobs\.0\.schedule: a cron expression has six fields/,
    ],
    ['a bad retention', { logRetentionDays: 10 }, /logRetentionDays: .*got 10/],
    [
      'a tag key AWS reserves',
      { tags: { 'aws:owner': 'x' } },
      /tags\.aws:owner: tag keys must not start with aws: \(reserved for AWS\)/,
    ],
    ['a tag value AWS refuses', { tags: { CostCenter: 'R&D (EMEA), #42' } }, /tags\.CostCenter: must be a tag value/],
    [
      'more tags than a resource takes',
      { tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) },
      /tags: must hold at most 49 tags \(got 50\)/,
    ],
  ];

  it.each(cases)('rejects %s, naming the field and value', (_name, change, message) => {
    expect(() => parseDeploymentConfig({ ...base, ...change }, 'test.json')).toThrow(message);
  });

  it.each([
    [
      'no alarm destination (unless alarms are off)',
      { alarmEmail: undefined },
      /alarmEmail: alarms must reach someone: set alarmEmail or alarmTopicArn, or "alarms": false/,
    ],
    [
      'a consumer outside apiAccess.rolePath',
      { apiAccess: { rolePath: '/tvm/' } },
      /consumers\.0\.principal: must be a role under apiAccess\.rolePath \/tvm\//,
    ],
    [
      'export jobs behind a private API without exportNetwork',
      { vpcEndpointIds: ['vpce-0123456789abcdef0'] },
      /exportNetwork: export jobs cannot reach a private API from outside a VPC: add "exportNetwork"/,
    ],
    [
      'an http: export upstream',
      { exportJobs: [{ ...base.exportJobs[0], graphqlUrl: 'http://127.0.0.1:9/graphql' }] },
      /exportJobs\.0: the upstream URL must be https: in a deployment/,
    ],
    ['a bad apiAccess', { apiAccess: { rolePath: 'tvm' } }, /apiAccess/],
    [
      "an apiAccess.rolePath over IAM's 512 characters",
      { apiAccess: { rolePath: `/${'p/'.repeat(300)}` } },
      /apiAccess.*rolePath.*at most 512/s,
    ],
    [
      'an iam.rolePath over 512 characters',
      { iam: { rolePath: `/${'p/'.repeat(300)}` } },
      /iam\.rolePath.*at most 512/,
    ],
    [
      'a secretPrefix no tenant secret name would fit',
      { secretPrefix: 'p'.repeat(448) },
      /secretPrefix.*at most 447 characters/,
    ],
    [
      'both alarm destinations',
      { alarmTopicArn: 'arn:aws:sns:ap-southeast-2:123456789012:ops' },
      /alarmEmail: set alarmEmail or alarmTopicArn, not both/,
    ],
  ])('rejects %s, saying what to change', (_name, change, message) => {
    expect(() => parseDeploymentConfig({ ...base, ...change }, 'test.json')).toThrow(message);
  });

  it('refuses a tenants list the refresher environment cannot hold, saying how many fit and what to do', () => {
    const tenants = Array.from({ length: 5_000 }, (_, i) => `tenant-${String(i).padStart(4, '0')}`);
    expect(() => synth({ ...parseDeploymentConfig(base), exportJobs: [], tenants })).toThrow(
      /tenants: 5000 tenants \(\d+ characters as JSON\) do not fit .*about 1\d\d of these ids.*leave "tenants" out/,
    );
  });

  it('accepts alarms: false without a destination, and optional tenants', () => {
    const { alarmEmail: _alarmEmail, ...rest } = base;
    const config = parseDeploymentConfig({ ...rest, alarms: false });
    expect(config.alarms).toBe(false);
    expect(config.tenants).toBeUndefined();
  });

  it('accepts the example config', () => {
    expect(exampleConfig.consumers.length).toBeGreaterThan(0);
  });
});
