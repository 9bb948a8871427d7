// token-vending-machine CDK constructs (`token-vending-machine/constructs`). Importing this module creates
// nothing: constructs are made only when you instantiate them in your app.
export {
  TokenVendingService,
  type TokenVendingConsumer,
  type TokenVendingServiceProps,
  type TokenVendingThrottling,
  vendInvokeGuardrail,
} from './token-vending-service';
export { TokenApi, type TokenApiProps } from './token-api';
export { TokenCache, type TokenCacheProps } from './token-cache';
export { ServiceFunctions, type ServiceFunctionsProps } from './service-functions';
export {
  TokenVendingMonitoring,
  type TokenVendingMonitoringProps,
  type AlarmDefinition,
  THRESHOLDS,
} from './monitoring';
export { AlarmTopic, type AlarmTopicProps } from './alarm-topic';
export { AnalyticsExports, type AnalyticsExportsProps, type ExportNetwork } from './analytics-exports';
export type { ApiAccessModel } from './resource-policy';
export { QUOTAS } from './quotas';
export { AnalyticsExportJob, type AnalyticsExportJobProps } from './analytics-export-job';
export { TokenVendingStack, type TokenVendingStackProps } from './token-vending-stack';
export {
  DeploymentConfigError,
  deploymentConfigSchema,
  loadDeploymentConfig,
  parseDeploymentConfig,
  type DeploymentConfig,
} from './config';
export type { ExportJob } from '../lambdas/core/export-windows';
