// The AWS SDK's default credential chain as it runs inside Lambda: the function's role credentials from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the container credential
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, as with SnapStart). The bundles alias
// `@aws-sdk/credential-provider-node` to this module (lib/bundle-settings.ts), so the SSO, INI-file, process and
// web-identity providers, which never run in Lambda, are not shipped. Local mode and tests use the full chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';

/** Same signature as `@aws-sdk/credential-provider-node`'s `defaultProvider` (the clients pass their logger). */
export function defaultProvider(init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> {
  const environment = fromEnv(init);
  return async (properties) => {
    try {
      return await environment(properties);
    } catch {
      // Made on demand: fromHttp throws at once when no container endpoint is configured.
      return fromHttp(init)(properties);
    }
  };
}
