#!/usr/bin/env node
import { join } from 'node:path';

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

import { DeploymentConfigError, loadDeploymentConfig } from '../lib/config';
import { TokenVendingStack } from '../lib/token-vending-stack';

/**
 * CDK app: `npx cdk deploy -c config=config/prod.json` (default: config/example.json).
 * The stack is environment-agnostic: it deploys to the account and region of the CLI credentials.
 */
const app = new App();
const configPath =
  (app.node.tryGetContext('config') as string | undefined) ?? join(__dirname, '..', 'config', 'example.json');

try {
  const config = loadDeploymentConfig(configPath);
  new TokenVendingStack(app, config.stackName, {
    config,
    description: 'token-vending-machine: vends verified upstream tokens to IAM-authenticated internal callers',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
} catch (error) {
  if (error instanceof DeploymentConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
