import { readFileSync } from 'node:fs';

import * as z from 'zod';

import { DEFAULT_SECRET_PREFIX } from '../contract/names';
import { consumerSchema } from '../lambdas/core/access-policy';
import { exportJobSchema } from '../lambdas/core/export-windows';
import { scheduleExpressionProblem } from '../lambdas/core/schedule-expression';
import { TENANT_ID_PATTERN } from '../lambdas/core/tenant-config';

// Deployment configuration: one JSON file per environment, reviewed in git and
// chosen with `cdk synth -c config=path` (default `config/example.json`).

/** An EventBridge Scheduler rate (in minutes or hours) or cron expression, checked as Scheduler checks it. */
/** AWS allows 50 tags per resource; the stack adds one of its own to export roles in principalTag mode. */
const MAX_STACK_TAGS = 49;
/** An AWS Organizations id. */
const ORGANIZATION_ID = z.string().regex(/^o-[a-z0-9]{10,32}$/, 'must be an AWS Organizations id such as o-a1b2c3d4e5');

const schedule = z.string().superRefine((value, ctx) => {
  const problem = scheduleExpressionProblem(value, ['minute', 'hour']);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const deploymentConfigSchema = z.strictObject({
  /** CloudFormation stack name. */
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a valid stack name')
    .default('TokenVendingMachine'),
  /** Tenant secrets are `<secretPrefix>/<tenantId>`. */
  secretPrefix: z
    .string()
    .regex(/^[\w+=.@-]+(\/[\w+=.@-]+)*$/, 'must be a Secrets Manager name prefix without a trailing slash')
    // A secret name is at most 512 characters: the prefix, a slash and a tenant id of up to 64.
    .max(447, 'must be at most 447 characters, so that <prefix>/<tenant id> fits a Secrets Manager name (512)')
    .default(DEFAULT_SECRET_PREFIX),
  /** Customer-managed KMS key that encrypts the tenant secrets, if not the AWS managed key. */
  secretsKmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/, 'must be a KMS key ARN')
    .optional(),
  /**
   * Optional: keep only these tenants warm. Without it (recommended) the refresher discovers every tenant secret
   * under the prefix at each run, so adding a tenant needs no redeploy.
   */
  tenants: z
    .array(z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id (lowercase letters, digits, hyphens)'))
    .optional(),
  /** Who may ask for which tenants (DESIGN §5). */
  consumers: z
    .array(
      z.strictObject({
        ...consumerSchema.shape,
        principal: z
          .string()
          .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, 'must be an IAM role or user ARN'),
      }),
    )
    .min(1, 'must list at least one consumer'),
  /**
   * How the API's resource policy admits consumers (the handler checks each one per tenant either way). Without it
   * every consumer ARN is listed, which fits about 60 consumers; at company scale admit by account plus role path
   * (every consumer role lives under the path) or by principal tag (`<tag>=true` on every consumer role); with
   * `organizationId` as well, by AWS Organization instead of account (any number of consumer accounts).
   */
  apiAccess: z
    .union([
      z.strictObject({
        rolePath: z
          .string()
          .regex(/^\/([\w+=,.@-]+\/)+$/, 'must be an IAM path such as /tvm-consumers/')
          .max(512, 'must be at most 512 characters (an IAM path)'),
        organizationId: ORGANIZATION_ID.optional(),
      }),
      z.strictObject({
        principalTag: z.string().regex(/^[\w.:/=+@-]{1,128}$/, 'must be an IAM tag key'),
        organizationId: ORGANIZATION_ID.optional(),
      }),
    ])
    .optional(),
  /** Make the API private, reachable only through these interface VPC endpoints. */
  vpcEndpointIds: z
    .array(z.string().regex(/^vpce-[0-9a-f]{8,17}$/, 'must be a VPC endpoint id (vpce-...)'))
    .min(1)
    .optional(),
  /** Where alarms go: an e-mail address (a topic is created) or an existing SNS topic. */
  alarmEmail: z.email('must be an e-mail address').optional(),
  alarmTopicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, 'must be an SNS topic ARN')
    .optional(),
  /** `false` turns the alarms' notifications off explicitly (otherwise alarmEmail or alarmTopicArn is required). */
  alarms: z.boolean().default(true),
  /** Retention of the audit logs: the vend function's log (who got which token) and the API access log. */
  auditLogRetentionDays: z
    .union(
      [1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731, 1827, 3653].map((days) => z.literal(days)),
      'must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731, 1827 or 3653)',
    )
    .default(365),
  /** Concurrent executions reserved for the vend function; `null` leaves it unreserved. */
  vendReservedConcurrency: z.number().int().min(1).max(3000).nullable().default(25),
  /** API Gateway execution logs (errors). Needs the region's API Gateway CloudWatch role (an account setting). */
  executionLogging: z.boolean().default(false),
  /** Create or replace the region-wide API Gateway CloudWatch role: only in an account dedicated to this service. */
  createApiGatewayCloudWatchRole: z.boolean().default(false),
  /** IAM settings applied to every role the stack creates. */
  iam: z
    .strictObject({
      permissionsBoundaryArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/[\w+=,.@/-]+$/, 'must be an IAM managed policy ARN')
        .optional(),
      rolePath: z
        .string()
        .regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path such as /platform/')
        .max(512, 'must be at most 512 characters (an IAM path)')
        .optional(),
    })
    .default({}),
  /** Tags on every resource of the stack. */
  tags: z
    .record(
      z.string(),
      z
        .string()
        .max(256)
        .regex(/^[\p{L}\p{Z}\p{N}_.:/=+@-]*$/u, 'must be a tag value: letters, digits, spaces or _.:/=+-@'),
    )
    .superRefine((tags, ctx) => {
      const keys = Object.keys(tags);
      if (keys.length > MAX_STACK_TAGS)
        ctx.addIssue({ code: 'custom', message: `must hold at most ${MAX_STACK_TAGS} tags (got ${keys.length})` });
      for (const key of keys) {
        if (!/^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u.test(key))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'must be a tag key: 1-128 letters, digits, spaces or _.:/=+-@',
          });
        else if (key.toLowerCase().startsWith('aws:'))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'tag keys must not start with aws: (reserved for AWS)',
          });
      }
    })
    .default({}),
  /** CloudFormation termination protection. */
  terminationProtection: z.boolean().default(false),
  /**
   * With `vpcEndpointIds`, where export jobs run: subnets (and security groups) from which the private API's VPC
   * endpoint is reachable (private DNS on), and S3 and the upstream too (gateway endpoint, NAT).
   */
  exportNetwork: z
    .strictObject({
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id')).min(1),
      securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id')).min(1),
    })
    .optional(),
  /**
   * Stack traces that point at the TypeScript sources (`NODE_OPTIONS=--enable-source-maps`): each cold start then
   * parses the bundle's source map (about 30 ms of init on the build machine).
   */
  sourceMapStackTraces: z.boolean().default(false),
  logRetentionDays: z
    .union(
      [
        z.literal(1),
        z.literal(3),
        z.literal(5),
        z.literal(7),
        z.literal(14),
        z.literal(30),
        z.literal(60),
        z.literal(90),
        z.literal(180),
        z.literal(365),
        z.literal(731),
        z.literal(1827),
        z.literal(3653),
      ],
      'must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731, 1827 or 3653)',
    )
    .default(30),
  refreshSchedule: schedule.default('rate(5 minutes)'),
  /** Share tokens across all Lambda containers through DynamoDB. */
  sharedCache: z.boolean().default(true),
  /** Scheduled analytics exports (GraphQL query per window -> S3). */
  exportJobs: z.array(exportJobSchema).default([]),
  throttling: z
    .strictObject({ rateLimit: z.number().positive().max(10_000), burstLimit: z.number().int().positive().max(5_000) })
    .default({ rateLimit: 50, burstLimit: 100 }),
});

export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;

/** Rules across fields, checked after the schema. */
function crossChecks(config: DeploymentConfig): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  config.exportJobs.forEach((job, index) => {
    if (names.has(job.name)) problems.push(`  exportJobs.${index}.name: must be unique (got "${job.name}")`);
    names.add(job.name);
    const url = 'url' in job ? job.url : 'baseUrl' in job ? job.baseUrl : undefined;
    if (typeof url === 'string' && !url.startsWith('https:'))
      problems.push(`  exportJobs.${index}: the upstream URL must be https: in a deployment (got "${url}")`);
  });
  if (config.alarmEmail && config.alarmTopicArn) {
    problems.push(
      '  alarmEmail: set alarmEmail or alarmTopicArn, not both (subscribe the address to your topic instead)',
    );
  }
  if (config.alarms && !config.alarmEmail && !config.alarmTopicArn) {
    problems.push(
      '  alarmEmail: alarms must reach someone: set alarmEmail or alarmTopicArn, or "alarms": false to deploy without notifications',
    );
  }
  const rolePath = config.apiAccess && 'rolePath' in config.apiAccess ? config.apiAccess.rolePath : undefined;
  if (rolePath) {
    config.consumers.forEach((consumer, index) => {
      if (!consumer.principal.includes(`:role${rolePath}`))
        problems.push(
          `  consumers.${index}.principal: must be a role under apiAccess.rolePath ${rolePath} (got "${consumer.principal}")`,
        );
    });
  }
  if (config.vpcEndpointIds && config.exportJobs.length > 0 && !config.exportNetwork) {
    problems.push(
      '  exportNetwork: export jobs cannot reach a private API from outside a VPC: add "exportNetwork": {"subnetIds": [...], "securityGroupIds": [...]} with subnets that reach the VPC endpoint (or remove vpcEndpointIds)',
    );
  }
  return problems;
}

/** The deployment config is unreadable or invalid; the message names each bad key. */
export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (node, key) =>
      typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    input,
  );
}

/** A short rendering of a bad value: scalars only, so a problem at an object never prints the whole config. */
function shownValue(value: unknown): string {
  if (value === undefined || (typeof value === 'object' && value !== null)) return '';
  const text = JSON.stringify(value);
  return ` (got ${text.length > 80 ? `${text.slice(0, 77)}...` : text})`;
}

/** Validate a parsed config; the error names each bad key, and its value when that is a scalar (config holds no secrets). */
export function parseDeploymentConfig(input: unknown, source = 'config'): DeploymentConfig {
  const result = deploymentConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.') || '(root)';
      return `  ${field}: ${issue.message}${shownValue(valueAt(input, issue.path))}`;
    });
    throw new DeploymentConfigError(`Invalid deployment config ${source}:\n${lines.join('\n')}`);
  }
  const problems = crossChecks(result.data);
  if (problems.length > 0)
    throw new DeploymentConfigError(`Invalid deployment config ${source}:\n${problems.join('\n')}`);
  return result.data;
}

export function loadDeploymentConfig(path: string): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeploymentConfigError(`Deployment config ${path} cannot be read.`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DeploymentConfigError(`Deployment config ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseDeploymentConfig(json, path);
}
