import {
  exportJobSchema,
  jobPrefix,
  manifestKey,
  pendingWindows,
  progressKey,
  segmentKey,
  stateKey,
  windowKey,
  windowsBetween,
} from '../../../lambdas/core/export-windows';

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

  it('catches up after a long outage from where it stopped, max windows per run, skipping none', () => {
    const windows = pendingWindows(at('2026-11-23T10:00:00Z'), 60, at('2026-11-01T00:00:00Z'), 3);
    expect(windows.map((w) => w.from.toISOString())).toEqual([
      '2026-11-01T00:00:00.000Z',
      '2026-11-01T01:00:00.000Z',
      '2026-11-01T02:00:00.000Z',
    ]);
    // Run after run, every window of the outage comes up once, in order, until the job is current again.
    let last = at('2026-11-01T00:00:00Z');
    const exported: string[] = [];
    for (let run = 0; run < 200; run++) {
      const next = pendingWindows(at('2026-11-23T10:00:00Z'), 60, last, 24);
      if (next.length === 0) break;
      exported.push(...next.map((w) => w.from.toISOString()));
      last = next[next.length - 1]?.to.getTime() ?? last;
    }
    expect(exported).toHaveLength(22 * 24 + 10);
    expect(new Set(exported).size).toBe(exported.length);
    expect(exported.at(-1)).toBe('2026-11-23T09:00:00.000Z');
  });
});

describe('lagMinutes', () => {
  it('holds a window back until it ended at least lagMinutes ago', () => {
    expect(pendingWindows(at('2026-11-23T10:20:00Z'), 60, at('2026-11-23T09:00:00Z'), 24, 30)).toEqual([]);
    expect(pendingWindows(at('2026-11-23T10:30:00Z'), 60, at('2026-11-23T09:00:00Z'), 24, 30)).toEqual([
      { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') },
    ]);
  });
});

describe('windowsBetween (backfill)', () => {
  it('covers the range with aligned windows, including partial ones at both ends', () => {
    expect(
      windowsBetween(at('2026-11-23T09:10:00Z'), at('2026-11-23T11:00:00Z'), 60).map((w) => w.from.toISOString()),
    ).toEqual(['2026-11-23T09:00:00.000Z', '2026-11-23T10:00:00.000Z']);
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
  const window = { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') };
  it('put data under Hive-style partitions and bookkeeping in underscore folders beside them', () => {
    expect(jobPrefix(job)).toBe('exports/tenant=acme/job=flights/');
    expect(windowKey(job, window)).toBe(
      'exports/tenant=acme/job=flights/dt=2026-11-23/20261123T0900Z_20261123T1000Z.ndjson.gz',
    );
    expect(manifestKey(job, window)).toBe(
      'exports/tenant=acme/job=flights/_manifests/20261123T0900Z_20261123T1000Z.json',
    );
    expect(progressKey(job, window)).toBe(
      'exports/tenant=acme/job=flights/_progress/20261123T0900Z_20261123T1000Z.json',
    );
    expect(segmentKey(job, window, 2)).toBe(
      'exports/tenant=acme/job=flights/_staging/20261123T0900Z_20261123T1000Z/0002.ndjson.gz',
    );
    expect(stateKey(job)).toBe('exports/tenant=acme/job=flights/_state.json');
  });
});

describe('exportJobSchema', () => {
  const base = { name: 'flights', tenant: 'acme', schedule: 'rate(1 hour)' };
  const graphql = { kind: 'graphql', url: 'https://a.example.com/graphql', query: '{ x }', itemsPath: 'data.x.items' };
  const rest = { kind: 'rest', baseUrl: 'https://api.example.com', path: '/x' };

  it('reads the earlier GraphQL-only shape (graphqlUrl) as a GraphQL job of the whole data', () => {
    expect(
      exportJobSchema.parse({ ...base, graphqlUrl: 'https://api.example.com/graphql', query: '{ x }' }),
    ).toMatchObject({ kind: 'graphql', url: 'https://api.example.com/graphql', itemsPath: 'data', lagMinutes: 0 });
  });

  it('fills REST defaults', () => {
    const job = exportJobSchema.parse({
      ...base,
      kind: 'rest',
      baseUrl: 'https://api.example.com',
      path: '/v1/flights',
      pagination: { type: 'page' },
    });
    expect(job).toMatchObject({
      method: 'GET',
      itemsPath: '',
      pagination: { type: 'page', param: 'page', start: 1, sizeParam: 'limit', size: 500 },
    });
  });

  it.each([
    [{ kind: 'rest', baseUrl: 'http://api.example.com', path: '/x' }, /baseUrl.*https:/s],
    [{ kind: 'rest', baseUrl: 'not a URL', path: '/x' }, /baseUrl.*Invalid URL/s],
    [{ kind: 'graphql', url: 'https://a.example.com/graphql', query: '{ x }' }, /itemsPath/],
    [{ kind: 'rest', baseUrl: 'https://api.example.com', path: '/x', windowMinutes: 7 }, /windowMinutes.*1440/s],
    [{ kind: 'rest', baseUrl: 'https://api.example.com', path: '/x', pagination: { type: 'tokens' } }, /pagination/],
    [{ kind: 'rest', baseUrl: 'https://api.example.com', path: '/x', columns: { Id: 'string' } }, /columns/],
    [{ kind: 'soap', url: 'https://api.example.com' }, /kind/],
    [
      { ...graphql, pagination: { cursorPath: 'data.x.next', cursorVariable: 'from' } },
      /cursorVariable.*must not be \\"from\\" or \\"to\\"/s,
    ],
    [{ ...graphql, variables: { to: 'x' } }, /variables.*to.*set by the runner/s],
    [
      { ...graphql, pagination: { cursorPath: 'data.x.next' }, variables: { nextToken: 'x' } },
      /nextToken.*set by the runner/s,
    ],
    [
      { ...rest, query: { from: '{from}' }, pagination: { type: 'cursor', path: 'next', param: 'from' } },
      /pagination.*param.*also a query or body key/s,
    ],
    [{ ...rest, pagination: { type: 'page', param: 'p', sizeParam: 'p' } }, /sizeParam.*must differ from param/s],
  ])('rejects %j', (fields, message) => {
    const parsed = exportJobSchema.safeParse({ ...base, ...fields });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(message);
  });

  it('allows http: only on loopback (local tests)', () => {
    expect(
      exportJobSchema.safeParse({ ...base, kind: 'rest', baseUrl: 'http://127.0.0.1:8080', path: '/x' }).success,
    ).toBe(true);
  });
});
