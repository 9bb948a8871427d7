import { Aspects, Aws, CfnResource, CfnRule, Fn, Stack, Tags, Token, type IAspect, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct, IConstruct } from 'constructs';

import { AlarmTopic } from './alarm-topic';
import type { DeploymentConfig } from './config';
import { QUOTAS } from './quotas';
import type { ApiAccessModel } from './resource-policy';
import { TokenVendingService } from './token-vending-service';

export interface TokenVendingStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** Puts every role the stack creates under a path, unless it already has one (consumer roles of export jobs). */
class RolePath implements IAspect {
  constructor(private readonly path: string) {}
  visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole && node.path === undefined) node.path = this.path;
  }
}

/** The API access model a config asks for. */
export function apiAccessModel(config: DeploymentConfig): ApiAccessModel | undefined {
  if (!config.apiAccess) return undefined;
  const organization = config.apiAccess.organizationId ? { organizationId: config.apiAccess.organizationId } : {};
  return 'rolePath' in config.apiAccess
    ? { kind: 'rolePath', rolePath: config.apiAccess.rolePath, ...organization }
    : { kind: 'principalTag', tagKey: config.apiAccess.principalTag, ...organization };
}

/** The deployable unit: the service wired from a validated deployment config. */
export class TokenVendingStack extends Stack {
  readonly service: TokenVendingService;
  readonly alarmTopic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: TokenVendingStackProps) {
    const { config } = props;
    // Compact JSON: a company-sized template is about a tenth smaller without the indentation (CloudFormation takes
    // at most 1,000,000 bytes through S3, which `cdk deploy` uses).
    super(scope, id, {
      terminationProtection: config.terminationProtection,
      suppressTemplateIndentation: true,
      ...props,
    });

    // `alarms: false` deploys the alarms without notifications, whatever destination the config still names.
    if (!config.alarms) {
      this.alarmTopic = undefined;
    } else if (config.alarmTopicArn) {
      this.requireAlarmTopicInRegion(config.alarmTopicArn);
      this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
    } else if (config.alarmEmail) {
      this.alarmTopic = new AlarmTopic(this, 'Alarms', { email: config.alarmEmail }).topic;
    }

    const apiAccess = apiAccessModel(config);
    this.service = new TokenVendingService(this, 'Service', {
      consumers: config.consumers,
      secretPrefix: config.secretPrefix,
      ...(config.secretsKmsKeyArn
        ? { secretsKmsKey: kms.Key.fromKeyArn(this, 'SecretsKey', config.secretsKmsKeyArn) }
        : {}),
      ...(config.tenants ? { tenants: config.tenants } : {}),
      ...(apiAccess ? { apiAccess } : {}),
      ...(config.vpcEndpointIds ? { vpcEndpointIds: config.vpcEndpointIds } : {}),
      ...(config.exportNetwork ? { exportNetwork: config.exportNetwork } : {}),
      ...(this.alarmTopic ? { alarmTopic: this.alarmTopic } : {}),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      auditLogRetention: config.auditLogRetentionDays as logs.RetentionDays,
      refreshSchedule: scheduler.ScheduleExpression.expression(config.refreshSchedule),
      sharedCache: config.sharedCache,
      throttling: config.throttling,
      exportJobs: config.exportJobs,
      vendReservedConcurrency: config.vendReservedConcurrency,
      executionLogging: config.executionLogging,
      createCloudWatchRole: config.createApiGatewayCloudWatchRole,
      sourceMapStackTraces: config.sourceMapStackTraces,
    });

    if (config.iam.permissionsBoundaryArn) {
      iam.PermissionsBoundary.of(this).apply(
        iam.ManagedPolicy.fromManagedPolicyArn(this, 'PermissionsBoundary', config.iam.permissionsBoundaryArn),
      );
    }
    if (config.iam.rolePath) Aspects.of(this).add(new RolePath(config.iam.rolePath));
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value);

    // CloudFormation takes a template of at most 1,000,000 bytes; the CDK only warns past it, and the deployment then
    // fails. Tags are copied onto every taggable resource, and export jobs are most of a big stack's resources: say so.
    this.node.addValidation({
      validate: () => {
        const bytes = templateBytes(this);
        if (bytes <= QUOTAS.templateBytesViaS3) return [];
        const tagBytes = Object.entries(config.tags).reduce(
          (sum, [key, value]) => sum + key.length + value.length + 24,
          0,
        );
        return [
          `tags, exportJobs: the template would be ${bytes} bytes, over the ${QUOTAS.templateBytesViaS3} CloudFormation takes. ` +
            `Every tag is copied onto each taggable resource (this config's tags add about ${tagBytes} bytes to each): ` +
            'use fewer or shorter tags, or move export jobs to a second deployment config (another stackName).',
        ];
      },
    });

    // CloudFormation takes 500 resources per stack, and export jobs are most of a big stack's. Say so in the
    // config's terms before the CDK's own check lists resource types.
    this.node.addValidation({
      validate: () => {
        // Paths of the CloudFormation resources this stack synthesizes (not those of nested stacks).
        const segments = this.node
          .findAll()
          .filter((c) => CfnResource.isCfnResource(c) && Stack.of(c) === this)
          .map((c) => c.node.path.split('/'));
        const total = segments.length;
        if (total <= MAX_STACK_RESOURCES) return [];
        const jobs = this.service.exportJobs;
        // A job's resources: its construct's (`ExportJob-<name>`), and those made for it elsewhere: its role
        // (`ExportJob-<name>-Role`) and its monitoring alarms (`Export-<name>HeartbeatAlarm`, ...).
        const ofJobs = jobs.reduce((sum, job) => {
          const name = job.node.id.replace(/^ExportJob-/, '');
          const mine = new RegExp(`^(?:ExportJob-${name}(?:-Role)?|Export-${name}[A-Z]\\w*)$`);
          return sum + segments.filter((path) => path.some((segment) => mine.test(segment))).length;
        }, 0);
        const perJob = jobs.length ? Math.ceil(ofJobs / jobs.length) : 0;
        const fit = perJob ? Math.max(0, jobs.length - Math.ceil((total - MAX_STACK_RESOURCES) / perJob)) : 0;
        return [
          `exportJobs: the stack would hold ${total} CloudFormation resources, over the ${MAX_STACK_RESOURCES} a stack may hold` +
            (perJob
              ? `; each export job adds ${perJob}, so this config fits ${fit} of its ${jobs.length} jobs: move the others to a second deployment config (another stackName; it has its own cache and refresher, so list in its tenants only the tenants its jobs need).`
              : '.'),
        ];
      },
    });
  }

  /**
   * CloudWatch alarms notify SNS topics of their own region only: an `alarmTopicArn` of another region would deploy
   * and then notify no one. Refused at synthesis when the stack's region is known, else by a template rule that fails
   * the deployment before any resource is created.
   */
  private requireAlarmTopicInRegion(topicArn: string): void {
    const topicRegion = topicArn.split(':')[3] ?? '';
    const problem = `alarmTopicArn: the topic is in ${topicRegion}; CloudWatch alarms can notify only a topic in the stack's region`;
    if (!Token.isUnresolved(this.region)) {
      if (topicRegion !== this.region) throw new Error(`${problem} (${this.region}).`);
      return;
    }
    new CfnRule(this, 'AlarmTopicInStackRegion', {
      assertions: [{ assert: Fn.conditionEquals(Aws.REGION, topicRegion), assertDescription: `${problem}.` }],
    });
  }
}

/** The size of the stack's template as the CDK writes it (compact: see the constructor). */
function templateBytes(stack: Stack): number {
  // The CDK's own rendering of the template (what it writes to the cloud assembly), tokens resolved.
  const template = (stack as unknown as { _toCloudFormation(): unknown })._toCloudFormation();
  return Buffer.byteLength(JSON.stringify(template));
}

/** CloudFormation's limit of resources per stack. */
export const MAX_STACK_RESOURCES = 500;
