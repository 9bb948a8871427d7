import { composeServices, refreshSourcesFor } from '../runtime/compose';
import { loadRuntimeConfig } from '../runtime/config';
import { createObservability, vendorEventSink } from './observability';
import { createRefreshHandler } from './refresh-handler';

/** Lambda entry point of the scheduled refresher (EventBridge Scheduler). */
const observability = createObservability();
const config = loadRuntimeConfig(process.env);
const runtime = composeServices(config, { onEvent: vendorEventSink(observability) });

export const handler = createRefreshHandler(runtime, refreshSourcesFor(config, runtime), config, observability);
