// token-vending-machine CDK constructs (`token-vending-machine/constructs`). Importing this module creates
// nothing: constructs are made only when you instantiate them in your app.
export {
  TokenVendingService,
  type TokenVendingConsumer,
  type TokenVendingServiceProps,
  type TokenVendingThrottling,
} from './token-vending-service';
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
