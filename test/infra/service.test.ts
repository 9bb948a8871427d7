import { synth } from './support';

const { template, resolve } = synth();

describe('TokenVendingService (facade)', () => {
  it('outputs the API URL, the table and the consumer policy statement', () => {
    const outputs = template.toJSON().Outputs as Record<string, any>;
    const names = Object.keys(outputs);
    for (const name of ['ApiUrl', 'TokenUrl', 'CacheTableName', 'ConsumerPolicyStatement'])
      expect(names.some((n) => n.includes(name))).toBe(true);
    const policy = Object.entries(outputs).find(([n]) => n.includes('ConsumerPolicyStatement'))?.[1];
    expect(resolve(policy.Value)).toContain('execute-api:Invoke');
    expect(resolve(policy.Value)).toContain('/GET/v1/tenants/*/token');
  });
});
