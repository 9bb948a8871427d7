import { Aws, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

// The API's resource policy: which principals may call `execute-api:Invoke` at all. It only narrows who reaches the
// function; the handler then checks each caller against the access policy per tenant (deny by default). API Gateway
// limits a resource policy to 8,192 characters, so a company-sized deployment admits consumers by account plus role
// path or principal tag instead of listing every role (about 150 accounts fit), or by AWS Organization plus role path
// or principal tag (any number of accounts).

/** How the resource policy admits consumers. */
export type ApiAccessModel =
  /** List every consumer ARN (exact; fits about 60 consumers). */
  | { readonly kind: 'principals' }
  /**
   * Admit roles under this IAM path (e.g. `/tvm-consumers/`) in the consumers' accounts, or in every account of the
   * organization when `organizationId` is set.
   */
  | { readonly kind: 'rolePath'; readonly rolePath: string; readonly organizationId?: string }
  /** Admit principals tagged `<tagKey>=true` in the consumers' accounts, or in the organization's. */
  | { readonly kind: 'principalTag'; readonly tagKey: string; readonly organizationId?: string };

export interface ResourcePolicyInput {
  readonly model: ApiAccessModel;
  /** Consumer principal ARNs; tokens (roles created by the stack) are in the stack's account. */
  readonly principals: readonly string[];
  /** Private API: only these interface endpoints. */
  readonly vpcEndpointIds?: readonly string[];
}

const INVOKE = ['execute-api:Invoke'];
const EVERY_METHOD = ['execute-api:/*'];

/** The 12-digit account of a role or user ARN; the stack's own account for a token (a role created by the stack). */
export function accountOf(principal: string): string {
  if (Token.isUnresolved(principal)) return Aws.ACCOUNT_ID;
  const match = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(principal);
  if (!match?.[1]) throw new Error(`Not an IAM principal ARN: ${principal}`);
  return match[1];
}

/** Distinct accounts of the consumers, in first-seen order. */
export function consumerAccounts(principals: readonly string[]): string[] {
  return [...new Set(principals.map(accountOf))];
}

/** Denies every caller that is not a role under the path, or a principal without the tag. */
function consumerFilter(model: Exclude<ApiAccessModel, { kind: 'principals' }>): iam.PolicyStatement {
  return new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: INVOKE,
    resources: EVERY_METHOD,
    conditions:
      model.kind === 'rolePath'
        ? { ArnNotLike: { 'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::*:role${model.rolePath}*` } }
        : { StringNotEquals: { [`aws:PrincipalTag/${model.tagKey}`]: 'true' } },
  });
}

export function apiResourcePolicy(input: ResourcePolicyInput): iam.PolicyDocument {
  const { model, principals } = input;
  const statements: iam.PolicyStatement[] = [];
  if (model.kind === 'principals') {
    statements.push(
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        principals: principals.map((arn) => new iam.ArnPrincipal(arn)),
        actions: INVOKE,
        resources: EVERY_METHOD,
      }),
      // Same-account callers could otherwise get in on their own IAM policy alone.
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: INVOKE,
        resources: EVERY_METHOD,
        conditions: { ArnNotLike: { 'aws:PrincipalArn': [...principals] } },
      }),
    );
  } else if (model.organizationId) {
    // The organization's accounts, however many: its id instead of a list (a fixed size). Unlike the account
    // statements, this allow names no account: a principal of the stack's own account under the path (or with the
    // tag) reaches the API without execute-api:Invoke in its identity policy. The function's access policy still
    // decides which tenants it may have, deny by default; consumers outside the organization are refused here.
    const inOrganization = { StringEquals: { 'aws:PrincipalOrgID': model.organizationId } };
    statements.push(
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        principals: [new iam.AnyPrincipal()],
        actions: INVOKE,
        resources: EVERY_METHOD,
        conditions: inOrganization,
      }),
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: INVOKE,
        resources: EVERY_METHOD,
        conditions: { StringNotEquals: { 'aws:PrincipalOrgID': model.organizationId } },
      }),
      consumerFilter(model),
    );
  } else {
    // Each account appears as its root principal and once as 12 digits: about 50 characters per account, so some
    // 150 accounts fit. The allow names the accounts (not "*" with a condition): a caller still needs
    // execute-api:Invoke in its own identity policy, in the stack's account too.
    const accounts = consumerAccounts(principals);
    statements.push(
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        principals: accounts.map((account) => new iam.AccountPrincipal(account)),
        actions: INVOKE,
        resources: EVERY_METHOD,
      }),
      // Same-account principals outside the consumer accounts could otherwise get in on IAM alone.
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: INVOKE,
        resources: EVERY_METHOD,
        conditions: { StringNotEquals: { 'aws:PrincipalAccount': accounts } },
      }),
      // Within those accounts, only roles under the path (any of the accounts: the statement above pins them), or
      // principals with the tag.
      consumerFilter(model),
    );
  }
  if (input.vpcEndpointIds) {
    statements.push(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: INVOKE,
        resources: EVERY_METHOD,
        conditions: { StringNotEquals: { 'aws:SourceVpce': [...input.vpcEndpointIds] } },
      }),
    );
  }
  return new iam.PolicyDocument({ statements });
}
