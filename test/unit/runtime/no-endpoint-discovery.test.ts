// The stand-in for DynamoDB's endpoint discovery (lib/bundle-settings.ts aliases the middleware package to it).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import {
  NODE_ENDPOINT_DISCOVERY_CONFIG_OPTIONS,
  resolveEndpointDiscoveryConfig,
} from '../../../lambdas/runtime/no-endpoint-discovery';

describe('no-endpoint-discovery', () => {
  it('resolves the settings as off, keeping what the client passes, and reads no environment', async () => {
    const command = class DescribeEndpoints {};
    const resolved = resolveEndpointDiscoveryConfig({ region: 'x' }, { endpointDiscoveryCommandCtor: command });
    expect(resolved).toMatchObject({ region: 'x', endpointDiscoveryCommandCtor: command });
    expect(await resolved.endpointDiscoveryEnabled()).toBe(false);
    expect(resolved.isClientEndpointDiscoveryEnabled).toBe(false);
    expect(NODE_ENDPOINT_DISCOVERY_CONFIG_OPTIONS.environmentVariableSelector()).toBeUndefined();
  });

  it('is what the real client resolves too when nothing is set (discovery off), so the bundles behave the same', async () => {
    const client = new DynamoDBClient({ region: 'ap-southeast-2' });
    expect(await client.config.endpointDiscoveryEnabled()).toBeUndefined();
    client.destroy();
  });
});
