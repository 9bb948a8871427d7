import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

import { ACCESS_POLICY_FILE_NAME } from '../../contract/names';
import { parseDeploymentConfig, type DeploymentConfig } from '../../lib/config';
import { environmentBytes, policyLength, QUOTAS } from '../../lib/quotas';
import { TvmFunction } from '../../lib/tvm-function';
import { exampleConfig, synth, type Synthesized } from './support';

// Company scale: 500 consumers in 25 accounts, 5,000 tenants, 30 export jobs with tenant ids of 64 characters.
// Every AWS quota that a bigger config could break is measured on the synthesized template, with intrinsics replaced
// by long realistic values.

const ACCOUNTS = Array.from({ length: 25 }, (_, i) => String(100000000000 + i * 7919));
const TENANTS = Array.from({ length: 5_000 }, (_, i) => `tenant-${String(i).padStart(4, '0')}`);
const EXPORT_JOBS = 30;

function companyConfig(): DeploymentConfig {
  const consumers = Array.from({ length: 500 }, (_, i) => ({
    principal: `arn:aws:iam::${ACCOUNTS[i % ACCOUNTS.length]}:role/tvm-consumers/service-${String(i).padStart(3, '0')}-reader`,
    // Ten tenants each covers all 5,000; every 50th consumer may also ask for any.
    tenants: [...TENANTS.slice(i * 10, i * 10 + 10), ...(i % 50 === 0 ? ['*'] : [])],
  }));
  const job = exampleConfig.exportJobs[0];
  return parseDeploymentConfig({
    ...JSON.parse(JSON.stringify(exampleConfig)),
    consumers,
    apiAccess: { rolePath: '/tvm-consumers/' },
    exportJobs: Array.from({ length: EXPORT_JOBS }, (_, index) => ({
      ...job,
      name: `daily-export-${String(index).padStart(2, '0')}`,
      tenant: `${TENANTS[index]}-`.padEnd(64, 'x'),
    })),
  });
}

let company: Synthesized;
let resources: Record<string, any>;
const sizes: Record<string, number> = {};
beforeAll(() => {
  company = synth(companyConfig());
  resources = company.template.toJSON().Resources;
});
afterAll(() =>
  console.info(`company-scale config (500 consumers, 5,000 tenants, 30 export jobs): ${JSON.stringify(sizes)}`),
);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('company scale: 500 consumers, 5,000 tenants, 30 export jobs', () => {
  it('synthesizes, with every consumer and tenant in the access policy file deployed with the function', () => {
    const layers = ofType('AWS::Lambda::LayerVersion').filter(([id]) => id.includes('AccessPolicy'));
    expect(layers).toHaveLength(1);
    // The layer's asset is staged (copied) into the assembly as asset.<hash>, the hash being its S3 key.
    const assetHash = String(layers[0]?.[1].Properties.Content.S3Key).replace(/\.zip$/, '');
    const staged = join(App.of(company.stack)?.outdir ?? '', `asset.${assetHash}`, ACCESS_POLICY_FILE_NAME);
    const file = JSON.parse(readFileSync(staged, 'utf8'));
    expect(file.consumers).toHaveLength(500);
    // The export jobs' roles by name: the names the roles are created with, each with its job's tenant.
    // Created as `<listed name>-<region>`: the region is resolved at deploy time.
    const roleNames = ofType('AWS::IAM::Role')
      .map(([, role]) => role.Properties.RoleName)
      .filter((name) => name?.['Fn::Join']?.[1]?.[0]?.startsWith('tvm-export-'))
      .map((name) => {
        expect(name['Fn::Join'][1].slice(1)).toEqual([{ Ref: 'AWS::Region' }]);
        return String(name['Fn::Join'][1][0]).replace(/-$/, '');
      });
    expect(roleNames).toHaveLength(EXPORT_JOBS);
    expect(file.ownRoles.map((r: { roleName: string }) => r.roleName).sort()).toEqual([...roleNames].sort());
    // The longest region name (14 characters) still fits IAM's 64.
    for (const name of roleNames) expect(`${name}-ap-southeast-4`.length).toBeLessThanOrEqual(64);
    const granted = new Set(file.consumers.flatMap((c: { tenants: string[] }) => c.tenants));
    expect(TENANTS.every((tenant) => granted.has(tenant))).toBe(true);
    sizes.accessPolicyFileBytes = JSON.stringify(file).length;
  });

  it(`keeps every function's environment within Lambda's ${QUOTAS.lambdaEnvironmentBytes} bytes`, () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBe(2 + EXPORT_JOBS);
    const largest = Math.max(...functions.map(([, fn]) => environmentBytes(fn.Properties.Environment.Variables)));
    sizes.largestEnvironmentBytes = largest;
    expect(largest).toBeLessThanOrEqual(QUOTAS.lambdaEnvironmentBytes);
    // However many export jobs: their roles are in the file, and the environment holds only the account's prefix.
    const [, vend] = functions.find(([id]) => id.includes('Vend')) ?? [];
    expect(environmentBytes(vend.Properties.Environment.Variables)).toBeLessThan(1024);
    expect(vend.Properties.Environment.Variables.TVM_CONSUMERS).toBeUndefined();
    for (const [, fn] of functions) {
      expect(JSON.stringify(fn.Properties.Environment.Variables)).not.toContain('tenant-0042');
    }
  });

  it(`keeps the API resource policy within API Gateway's ${QUOTAS.apiResourcePolicyChars} characters`, () => {
    const [[, api]] = ofType('AWS::ApiGateway::RestApi') as [[string, any]];
    sizes.resourcePolicyChars = policyLength(api.Properties.Policy);
    expect(sizes.resourcePolicyChars).toBeLessThanOrEqual(QUOTAS.apiResourcePolicyChars);
    expect(JSON.stringify(api.Properties.Policy)).not.toContain('service-001-reader');
  });

  it('keeps the template within CloudFormation size (via S3, as cdk deploy uploads it) and resource count', () => {
    sizes.templateBytes = Buffer.byteLength(JSON.stringify(company.template.toJSON()));
    sizes.resources = Object.keys(resources).length;
    // cdk deploy passes a TemplateURL (bootstrap bucket), so the 1 MB limit applies, not 51,200 bytes inline.
    expect(sizes.templateBytes).toBeLessThanOrEqual(QUOTAS.templateBytesViaS3);
    expect(sizes.resources).toBeLessThanOrEqual(QUOTAS.resourcesPerStack);
  });

  it('keeps every role within IAM policy size limits (inline per role, managed per policy)', () => {
    const inlineByRole = new Map<string, number>();
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const role of policy.Properties.Roles ?? []) {
        const key = JSON.stringify(role);
        inlineByRole.set(key, (inlineByRole.get(key) ?? 0) + policyLength(policy.Properties.PolicyDocument));
      }
    }
    for (const [, role] of ofType('AWS::IAM::Role')) {
      for (const policy of role.Properties.Policies ?? []) {
        inlineByRole.set(JSON.stringify(role), policyLength(policy.PolicyDocument));
      }
    }
    sizes.largestInlineRolePolicyChars = Math.max(...inlineByRole.values());
    expect(sizes.largestInlineRolePolicyChars).toBeLessThanOrEqual(QUOTAS.iamInlinePoliciesPerRoleChars);
    for (const [, managed] of ofType('AWS::IAM::ManagedPolicy')) {
      expect(policyLength(managed.Properties.PolicyDocument)).toBeLessThanOrEqual(QUOTAS.iamManagedPolicyChars);
    }
  });

  it('puts the export job roles under the consumers role path, so the compact policy admits them', () => {
    const roles = ofType('AWS::IAM::Role').filter(([id]) => id.includes('ExportJob') && !id.includes('Schedule'));
    expect(roles.length).toBe(EXPORT_JOBS);
    for (const [, role] of roles) expect(role.Properties.Path).toBe('/tvm-consumers/');
  });
});

describe('the environment check at synthesis', () => {
  it('refuses a function environment Lambda would refuse at deploy time, naming the largest variables', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Env');
    new TvmFunction(stack, 'Big', {
      handlerName: 'vend',
      description: 'too big',
      environment: { TVM_TENANTS: 'x'.repeat(2_000), TVM_CONSUMERS: 'y'.repeat(2_500) },
      logRetention: RetentionDays.ONE_DAY,
    });
    expect(() => app.synth()).toThrow(
      /environment of vend would be about \d+ bytes.*over Lambda's 4096.*TVM_CONSUMERS 2513 B/s,
    );
    const fits = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    new TvmFunction(new Stack(fits, 'Env'), 'Small', {
      handlerName: 'vend',
      description: 'fits',
      environment: { TVM_TENANTS: 'x'.repeat(2_000) },
      logRetention: RetentionDays.ONE_DAY,
    });
    expect(() => fits.synth()).not.toThrow();
  });
});

describe('the resource count check at synthesis', () => {
  it('names exportJobs, what each job adds and how many fit, before CloudFormation would refuse the stack', () => {
    const job = exampleConfig.exportJobs[0];
    const config = parseDeploymentConfig({
      ...JSON.parse(JSON.stringify(exampleConfig)),
      apiAccess: { principalTag: 'tvm-consumer' },
      exportJobs: Array.from({ length: 40 }, (_, index) => ({ ...job, name: `export-${index}` })),
    });
    let message = '';
    try {
      synth(config);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /exportJobs: the stack would hold \d+ CloudFormation resources, over the 500 a stack may hold; each export job adds 1[34], so this config fits 3\d of its 40 jobs: move the others to a second deployment config/,
    );
  });
});

describe('template size', () => {
  it('is written compact, and a config past 1,000,000 bytes fails synth naming tags and exportJobs', () => {
    // 49 tags of the longest key and value the schema allows, copied onto every taggable resource.
    const tags = Object.fromEntries(
      Array.from({ length: 49 }, (_, i) => [`${String(i).padStart(2, '0')}${'k'.repeat(126)}`, 'v'.repeat(256)]),
    );
    const job = exampleConfig.exportJobs[0];
    const config = parseDeploymentConfig({
      ...JSON.parse(JSON.stringify(exampleConfig)),
      tags,
      exportJobs: [job, { ...job, name: `${job?.name}-2` }],
    });
    expect(() => synth(config)).toThrow(
      /tags, exportJobs: the template would be \d+ bytes, over the 1000000 CloudFormation takes\..*fewer or shorter tags/s,
    );
  });

  it('the company-scale template is written compact, as measured (no indentation)', () => {
    const written = readFileSync(join(App.of(company.stack)?.outdir ?? '', company.stack.templateFile), 'utf8');
    expect(written).not.toMatch(/\n /);
    expect(Buffer.byteLength(written)).toBeLessThanOrEqual(QUOTAS.templateBytesViaS3);
  });
});
