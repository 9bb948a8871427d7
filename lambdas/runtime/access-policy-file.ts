// The deployment's access policy as a JSON file bundled with the vend function: Lambda's environment (4 KB for all
// variables together) cannot hold hundreds of consumers, a file next to the code can, and it changes with the code.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import * as z from 'zod/mini';

import { ENV } from '../../contract/names';
import { consumerSchema, consumersSchema, type Consumer } from '../core/access-policy';

import '../core/zod-messages';

/**
 * A role of the deployment's own account, by name: the roles the stack creates (export jobs) have names fixed at
 * synthesis, but their account and partition are known only when CloudFormation deploys them.
 */
export const ownRoleSchema = z.strictObject({
  roleName: z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name')),
  tenants: consumerSchema.shape.tenants,
});

/**
 * What the file holds: `{"consumers": [{"principal", "tenants"}], "ownRoles": [{"roleName", "tenants"}]}`; the
 * roles' ARNs are completed with {@link ENV.ownRoleArnPrefix}.
 */
export const accessPolicyFileSchema = z.strictObject({
  consumers: consumersSchema,
  ownRoles: z.optional(z.array(ownRoleSchema)),
});
export type AccessPolicyFile = z.infer<typeof accessPolicyFileSchema>;

/** Where the file is: a relative path is resolved against the function's code directory, else the working directory. */
export function accessPolicyFilePath(path: string, env: Record<string, string | undefined>): string {
  return isAbsolute(path) ? path : resolve(env.LAMBDA_TASK_ROOT ?? process.cwd(), path);
}

/**
 * Read and validate the file. Problems name the variable, the file and the field (the file holds principal ARNs
 * and tenant ids, no secrets); `fail` builds the error so that callers keep their own error class.
 */
export function readAccessPolicyFile(
  path: string,
  env: Record<string, string | undefined>,
  fail: (message: string) => Error,
): readonly Consumer[] {
  const file = accessPolicyFilePath(path, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw fail(`${ENV.accessPolicyFile}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail(`${ENV.accessPolicyFile}: ${file} is not valid JSON.`);
  }
  const result = accessPolicyFileSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${[file, ...issue.path.map(String)].join('.')}: ${issue.message}`,
    );
    throw fail(`${ENV.accessPolicyFile}: ${problems.join('; ')}`);
  }
  const ownRoles = result.data.ownRoles ?? [];
  if (ownRoles.length === 0) return result.data.consumers;
  const prefix = env[ENV.ownRoleArnPrefix] ?? '';
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/$/.test(prefix)) {
    throw fail(
      `${ENV.ownRoleArnPrefix}: must be arn:<partition>:iam::<account>:role/ when ${file} lists ownRoles (got ${prefix ? `"${prefix.slice(0, 80)}"` : 'nothing'}).`,
    );
  }
  const suffix = env[ENV.ownRoleNameSuffix] ?? '';
  if (!/^[\w+=,.@-]{0,32}$/.test(suffix)) {
    throw fail(`${ENV.ownRoleNameSuffix}: must be at most 32 characters of an IAM role name.`);
  }
  return [
    ...result.data.consumers,
    ...ownRoles.map(({ roleName, tenants }) => ({ principal: `${prefix}${roleName}${suffix}`, tenants })),
  ];
}
