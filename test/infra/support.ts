import { join } from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { loadDeploymentConfig, type DeploymentConfig } from '../../lib/config';
import { TokenVendingStack } from '../../lib/token-vending-stack';

// Shared by the infra tests: the example config and one way to synthesize it. Each test file synthesizes
// each config it needs once (at module level or in beforeAll) and asserts on the template.

export const exampleConfigPath = join(__dirname, '..', '..', 'config', 'example.json');
export const exampleConfig = loadDeploymentConfig(exampleConfigPath);
/** Most tests look at the core service; export jobs have their own file. */
export const serviceConfig: DeploymentConfig = { ...exampleConfig, exportJobs: [] };

export interface Synthesized {
  readonly stack: TokenVendingStack;
  readonly template: Template;
  /** Resolve a token (e.g. an output's value) to its CloudFormation JSON text. */
  readonly resolve: (value: unknown) => string;
}

export interface SynthOptions {
  /** Bundle the functions with esbuild (slow: one test does it). */
  readonly bundle?: boolean;
  /**
   * Run CDK's built-in CloudFormation validation (a WASM engine costing seconds per test file to load); the
   * cdk-nag and bundling tests run it, the others skip it.
   */
  readonly validate?: boolean;
}

/** Synthesize the stack; bundling and CloudFormation validation are skipped (fast) unless asked for. */
export function synth(config: DeploymentConfig = serviceConfig, options: SynthOptions = {}): Synthesized {
  const app = new App({
    context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: options.validate ?? false,
  });
  const stack = new TokenVendingStack(app, 'Test', { config });
  return {
    stack,
    template: Template.fromStack(stack),
    resolve: (value) => JSON.stringify(Stack.of(stack).resolve(value)),
  };
}

/** Every statement of every inline IAM policy in the template. */
export function policyStatements(template: Template): Array<Record<string, any>> {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>,
  );
}
