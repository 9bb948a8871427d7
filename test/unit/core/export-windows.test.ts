import { exportJobSchema, pendingWindows, stateKey, windowKey } from '../../../lambdas/core/export-windows';

const at = (iso: string) => Date.parse(iso);

describe('pendingWindows', () => {
  it('exports the last complete window on the first run', () => {
    expect(pendingWindows(at('2026-11-23T10:30:00Z'), 60, undefined, 24)).toEqual([
      { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') },
    ]);
  });

  it('catches up every window since the last export, oldest first', () => {
    const windows = pendingWindows(at('2026-11-23T10:05:00Z'), 60, at('2026-11-23T07:00:00Z'), 24);
    expect(windows.map((w) => w.from.toISOString())).toEqual([
      '2026-11-23T07:00:00.000Z',
      '2026-11-23T08:00:00.000Z',
      '2026-11-23T09:00:00.000Z',
    ]);
  });

  it('has nothing to do when the last window is exported', () => {
    expect(pendingWindows(at('2026-11-23T10:59:59Z'), 60, at('2026-11-23T10:00:00Z'), 24)).toEqual([]);
  });

  it('caps the catch-up after a long outage to the newest windows', () => {
    const windows = pendingWindows(at('2026-11-23T10:00:00Z'), 60, at('2026-11-01T00:00:00Z'), 3);
    expect(windows.map((w) => w.from.toISOString())).toEqual([
      '2026-11-23T07:00:00.000Z',
      '2026-11-23T08:00:00.000Z',
      '2026-11-23T09:00:00.000Z',
    ]);
  });
});

describe('keys', () => {
  const job = exportJobSchema.parse({
    name: 'flights',
    tenant: 'acme',
    schedule: 'cron(5 * * * ? *)',
    graphqlUrl: 'https://api.example.com/graphql',
    query: '{ x }',
  });
  it('follow <prefix>/<tenant>/<job>/<yyyy>/<mm>/<dd>/<window>.json', () => {
    expect(windowKey(job, { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') })).toBe(
      'exports/acme/flights/2026/11/23/20261123T0900Z_20261123T1000Z.json',
    );
    expect(stateKey(job)).toBe('exports/acme/flights/_state.json');
  });
});
