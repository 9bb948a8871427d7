// Stands in for `@aws-sdk/middleware-endpoint-discovery` in every bundle (lib/bundle-settings.ts). The DynamoDB client
// imports it for two things only: its constructor resolves the discovery settings (creating an endpoint cache), and
// its runtime config reads `AWS_ENABLE_ENDPOINT_DISCOVERY`. None of the client's commands in this SDK version adds
// the discovery middleware that would read either, so discovery is off whatever is set: this module says so in about
// 200 bytes instead of 2 KB (the middleware package, `@aws-sdk/endpoint-cache` and its LRU map). A client that imports
// the middleware itself fails the build ("No matching export"), so an SDK upgrade that starts using it is noticed.

/** The setting, for the client's runtime config: never read, so never loaded from the environment or a profile. */
export const NODE_ENDPOINT_DISCOVERY_CONFIG_OPTIONS = {
  environmentVariableSelector: (): undefined => undefined,
  configFileSelector: (): undefined => undefined,
  default: undefined,
};

/** The client's discovery settings: off, with the command it would have called. */
export function resolveEndpointDiscoveryConfig<T extends object>(
  input: T,
  { endpointDiscoveryCommandCtor }: { readonly endpointDiscoveryCommandCtor: unknown },
): T & { endpointDiscoveryEnabled: () => Promise<boolean>; isClientEndpointDiscoveryEnabled: boolean } {
  return Object.assign(input, {
    endpointDiscoveryCommandCtor,
    endpointDiscoveryEnabled: () => Promise.resolve(false),
    isClientEndpointDiscoveryEnabled: false,
  });
}
