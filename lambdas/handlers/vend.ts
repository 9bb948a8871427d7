// Lambda entry point of the token API (GET /v1/tenants/{tenantId}/token, GET /v1/health).
import { composeRuntime } from '../runtime/compose';
import { loadRuntimeConfig } from '../runtime/config';
import { usePlainProcessEnv } from '../runtime/plain-process-env';
import { createHttpHandler } from './http-handler';
import { createObservability, vendorEventSink } from './observability';

// Every request reads the environment through Powertools: a plain copy makes those reads cheap (see the module).
usePlainProcessEnv();
const observability = createObservability();
const runtime = composeRuntime(loadRuntimeConfig(process.env), { onEvent: vendorEventSink(observability) });

export const handler = createHttpHandler(runtime, observability);
