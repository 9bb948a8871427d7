import { toErrorResponse } from './errors';
import type { TokenVendor } from './vendor';

export type RefreshOutcome =
  | { readonly tenantId: string; readonly outcome: 'fresh' | 'renewed' }
  | { readonly tenantId: string; readonly outcome: 'failed'; readonly code: string; readonly message: string };

export interface RefreshOptions {
  /** Renew once a session has used this share of its lifetime. @default 0.75 */
  readonly renewAtFraction?: number;
  /** Tenants refreshed at the same time. @default 4 */
  readonly concurrency?: number;
}

/** Walk the tenants with bounded concurrency; one tenant's failure never stops the others. */
export async function refreshTenants(
  vendor: TokenVendor,
  tenantIds: readonly string[],
  options: RefreshOptions = {},
): Promise<RefreshOutcome[]> {
  const fraction = options.renewAtFraction ?? 0.75;
  const results: RefreshOutcome[] = new Array(tenantIds.length);
  let next = 0;
  const worker = async () => {
    while (next < tenantIds.length) {
      const index = next++;
      const tenantId = tenantIds[index] as string;
      try {
        results[index] = { tenantId, outcome: await vendor.refreshIfDue(tenantId, fraction) };
      } catch (error) {
        const mapped = toErrorResponse(error);
        results[index] = { tenantId, outcome: 'failed', code: mapped.code, message: mapped.message };
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, tenantIds.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
