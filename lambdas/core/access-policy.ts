import * as z from 'zod/mini';

import { ForbiddenError } from './errors';
import { TENANT_ID_PATTERN } from './tenant-config';

import './zod-messages';

/**
 * Which callers may ask for which tenants. Deny by default. Principals are IAM
 * role or user ARNs (or `local` in local mode); `"*"` in `tenants` allows all.
 */
export const consumerSchema = z.strictObject({
  principal: z
    .string()
    .check(
      z.regex(/^(arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+|local)$/, 'must be an IAM role or user ARN'),
    ),
  tenants: z
    .array(z.union([z.literal('*'), z.string().check(z.regex(TENANT_ID_PATTERN, 'must be a tenant id or "*"'))]))
    .check(z.minLength(1, 'must list at least one tenant or "*"')),
});
export const consumersSchema = z.array(consumerSchema);
export type Consumer = z.infer<typeof consumerSchema>;

export type TenantAccess = 'all' | 'listed' | 'none';

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;
const ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;

/**
 * The identity to match against policy: an assumed-role session ARN becomes
 * `arn:<partition>:iam::<account>:role/<name>`. Role paths are not visible in a
 * session ARN, so roles are compared by partition, account and name.
 */
export function normalisePrincipal(arn: string): string {
  const session = ASSUMED_ROLE.exec(arn);
  if (session) return `arn:${session[1]}:iam::${session[2]}:role/${session[3]}`;
  const role = ROLE.exec(arn);
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  return arn;
}

export class AccessPolicy {
  private readonly grants = new Map<string, Set<string>>();

  constructor(consumers: readonly Consumer[]) {
    for (const consumer of consumers) {
      const key = normalisePrincipal(consumer.principal);
      const tenants = this.grants.get(key) ?? new Set<string>();
      consumer.tenants.forEach((tenant) => tenants.add(tenant));
      this.grants.set(key, tenants);
    }
  }

  /** How far the caller sees: every tenant, only some, or none. */
  access(callerArn: string | undefined): TenantAccess {
    const tenants = callerArn ? this.grants.get(normalisePrincipal(callerArn)) : undefined;
    if (!tenants) return 'none';
    return tenants.has('*') ? 'all' : 'listed';
  }

  isAllowed(callerArn: string | undefined, tenantId: string): boolean {
    const tenants = callerArn ? this.grants.get(normalisePrincipal(callerArn)) : undefined;
    return !!tenants && (tenants.has('*') || tenants.has(tenantId));
  }

  /** Throws `forbidden` unless the caller may ask for the tenant. */
  authorise(callerArn: string | undefined, tenantId: string): void {
    if (!this.isAllowed(callerArn, tenantId)) throw new ForbiddenError();
  }
}
