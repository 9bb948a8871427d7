// AWS quotas the stack must stay within, and a way to measure a synthesized value as it will be once CloudFormation
// resolves it. Intrinsics are replaced by long but realistic values, so a measurement errs on the large side.

/** Documented AWS limits (characters or bytes, as AWS counts them). */
export const QUOTAS = {
  /** Lambda: all environment variables of a function together (keys and values). */
  lambdaEnvironmentBytes: 4 * 1024,
  /** API Gateway REST: resource policy length. */
  apiResourcePolicyChars: 8_192,
  /** CloudFormation: template body uploaded to S3 first (`TemplateURL`, what `cdk deploy` does). */
  templateBytesViaS3: 1_000_000,
  /** CloudFormation: template body passed inline (`--template-body`). */
  templateBytesInline: 51_200,
  /** CloudFormation: resources per stack. */
  resourcesPerStack: 500,
  /** IAM: one managed policy, whitespace excluded. */
  iamManagedPolicyChars: 6_144,
  /** IAM: all inline policies of one role together, whitespace excluded. */
  iamInlinePoliciesPerRoleChars: 10_240,
} as const;

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws-us-gov',
  'AWS::AccountId': '123456789012',
  'AWS::Region': 'ap-southeast-2',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'TokenVendingMachine-production',
  'AWS::StackId': `arn:aws-us-gov:cloudformation:ap-southeast-2:123456789012:stack/TokenVendingMachine-production/${'0'.repeat(36)}`,
  'AWS::NoValue': '',
};

/** A generated physical name or ARN as long as CloudFormation makes them. */
const GENERATED = (logicalId: string) => `${logicalId.slice(0, 40)}-${'X'.repeat(12)}`;

/** Replace CloudFormation intrinsics with realistic, long values (for size checks only). */
export function renderIntrinsics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renderIntrinsics);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [[key, argument]] = entries as [[string, unknown]];
    if (key === 'Ref') return PSEUDO[String(argument)] ?? GENERATED(String(argument));
    if (key === 'Fn::GetAtt') {
      const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
      return String(attribute).endsWith('Arn')
        ? `arn:aws-us-gov:service:ap-southeast-2:123456789012:resource/${GENERATED(String(logicalId))}`
        : GENERATED(String(logicalId));
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map((part) => String(renderIntrinsics(part))).join(separator);
    }
    if (key === 'Fn::Select') {
      const [index, list] = argument as [number, unknown];
      const rendered = renderIntrinsics(list);
      return Array.isArray(rendered) ? rendered[index] : 'selected-value';
    }
    if (key === 'Fn::Split') {
      const [separator, source] = argument as [string, unknown];
      return String(renderIntrinsics(source)).split(separator);
    }
    if (key === 'Fn::Sub')
      return String(Array.isArray(argument) ? argument[0] : argument).replace(/\$\{[^}]+\}/g, 'x'.repeat(20));
    if (key === 'Fn::ImportValue') return 'imported-value-'.padEnd(64, 'x');
    if (key === 'Fn::If') return renderIntrinsics((argument as unknown[])[1]);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, renderIntrinsics(v)]));
}

/** Characters of a policy document as IAM and API Gateway count them (compact JSON). */
export function policyLength(document: unknown): number {
  return JSON.stringify(renderIntrinsics(document)).length;
}

/** Bytes of a function's environment as Lambda counts them: every key and value. */
export function environmentBytes(variables: Readonly<Record<string, unknown>>): number {
  return Object.entries(variables).reduce(
    (sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(String(renderIntrinsics(value))),
    0,
  );
}
