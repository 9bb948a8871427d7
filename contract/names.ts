// Names shared by the CDK stack (`lib/`) and the runtime (`lambdas/`): environment variables, the service
// and metrics namespace, metric and dimension names, the default secret prefix. Each is written once, here;
// everything else imports it, so renaming a metric or a variable cannot silently break an alarm or a function.

/** The service name: Powertools `service` dimension and log field, and the prefix of resource descriptions. */
export const SERVICE_NAME = 'token-vending-machine';

/** CloudWatch namespace of every custom metric the functions emit (EMF). */
export const METRICS_NAMESPACE = 'TokenVendingMachine';

/** Tenant secrets are named `<prefix>/<tenantId>`; this is the prefix when none is configured. */
export const DEFAULT_SECRET_PREFIX = 'tvm/tenants';

/** Environment variables the functions, the local server and the CLI read. */
export const ENV = {
  /** Tenant secrets are `<prefix>/<tenantId>` (default {@link DEFAULT_SECRET_PREFIX}). */
  secretPrefix: 'TVM_SECRET_PREFIX',
  /** JSON `[{principal, tenants}]`: who may vend for which tenants; deny by default. */
  consumers: 'TVM_CONSUMERS',
  /**
   * `arn:<partition>:iam::<account>:role/` of the deployment's own account: the roles the stack creates (export
   * jobs) are listed in the access policy file by name (`ownRoles`), their ARNs completed with this at start-up.
   */
  ownRoleArnPrefix: 'TVM_OWN_ROLE_ARN_PREFIX',
  /** What follows each `ownRoles` name in the role's real name (`-<region>` for export roles); empty by default. */
  ownRoleNameSuffix: 'TVM_OWN_ROLE_NAME_SUFFIX',
  /**
   * JSON file `{"consumers": [...]}` merged with {@link ENV.consumers}: the deployment's access policy, bundled with
   * the vend function (Lambda's 4 KB environment cannot hold hundreds of consumers). A relative path is resolved
   * against `LAMBDA_TASK_ROOT` (the function's code directory) or the working directory.
   */
  accessPolicyFile: 'TVM_ACCESS_POLICY_FILE',
  /** Read tenants from this JSON file instead of Secrets Manager. */
  tenantsFile: 'TVM_TENANTS_FILE',
  /** Margin in seconds added to every `minTtl`. */
  clockSkewSeconds: 'TVM_CLOCK_SKEW_SECONDS',
  /** How long a tenant secret is reused before it is read again. */
  secretCacheTtlSeconds: 'TVM_SECRET_CACHE_TTL_SECONDS',
  /** Attempts for a throttled or failing upstream. */
  upstreamAttempts: 'TVM_UPSTREAM_ATTEMPTS',
  /** DynamoDB table of the shared (fleet-wide) cache; unset: memory only. */
  cacheTable: 'TVM_CACHE_TABLE',
  /** KMS key (id, ARN or alias) that encrypts the shared cache's session items; required with {@link ENV.cacheTable}. */
  cacheKeyId: 'TVM_CACHE_KEY_ID',
  /** Local mode: base64 32-byte master key of the in-process stand-in for KMS (shared by local processes). */
  localCacheKey: 'TVM_LOCAL_CACHE_KEY',
  /** Optional JSON array: the scheduled refresher keeps only these tenants warm; unset, it discovers every tenant secret under the prefix. */
  tenants: 'TVM_TENANTS',
  /** The refresher renews sessions past this share of their lifetime. */
  refreshAtFraction: 'TVM_REFRESH_AT_FRACTION',
  /** Milliseconds one vend may take in all (upstream calls, retries, lease waits); then 503 with Retry-After. */
  vendBudgetMs: 'TVM_VEND_BUDGET_MS',
  /** Seconds between two forced renewals (`rejected=`) of one tenant, fleet-wide. */
  forcedRenewalIntervalSeconds: 'TVM_FORCED_RENEWAL_INTERVAL_SECONDS',
  /** Local mode: `true` runs an in-process dynalite as the shared cache. */
  localSharedCache: 'TVM_LOCAL_SHARED_CACHE',
  /** CLI: comma-separated role ARNs that `tvm tenant put` lets read the tenant secret (the stack's VendRoleArn, RefreshRoleArn). */
  secretReaderRoles: 'TVM_SECRET_READER_ROLES',
  /** Base URL of the token API (export jobs, the client, the CLI). */
  endpoint: 'TVM_ENDPOINT',
  /** S3 bucket an export job writes to. */
  exportBucket: 'TVM_EXPORT_BUCKET',
  /** JSON definition of one export job (local runs and tests; deployed functions use {@link ENV.exportJobFile}). */
  exportJob: 'TVM_EXPORT_JOB',
  /** Path of a file holding the export job's JSON definition (the stack ships it in a layer, not in a variable). */
  exportJobFile: 'TVM_EXPORT_JOB_FILE',
  /** Powertools: service name of logs and metrics. */
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  /** Powertools: CloudWatch namespace of the metrics. */
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Powertools: `true` stops metrics from being flushed (local mode, benchmarks). */
  powertoolsMetricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
} as const;

/** One of the environment variable names above. */
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Every custom metric the functions emit, by its CloudWatch name. */
export const METRIC = {
  /** A vendor event: token served from the container's memory cache. */
  cacheHit: 'CacheHit',
  /** A vendor event: token served from the shared (DynamoDB) cache. */
  sharedCacheHit: 'SharedCacheHit',
  /** A vendor event: no usable cached token. */
  cacheMiss: 'CacheMiss',
  /** A vendor event: waited for another container's lease. */
  leaseWait: 'LeaseWait',
  /** A vendor event: the shared cache failed; vending carried on without it. */
  sharedCacheError: 'SharedCacheError',
  /** A vendor event: a compare-and-swap on the shared cache lost a race. */
  sharedCacheConflict: 'SharedCacheConflict',
  /** A vendor event: password (or client-credentials) sign-in upstream. */
  signIn: 'SignIn',
  /** A vendor event: refresh-token renewal upstream. */
  refresh: 'Refresh',
  /** A vendor event: the upstream rejected the refresh token. */
  refreshRejected: 'RefreshRejected',
  /** A vendor event: an upstream call was retried. */
  upstreamRetry: 'UpstreamRetry',
  /** A vendor event: an upstream call failed for good. */
  upstreamFailure: 'UpstreamFailure',
  /** A vendor event: a request was refused because the tenant's sign-in is paused (lockout guard). */
  lockedOut: 'LockedOut',
  /** A vendor event: a caller reported the current token refused and the session was renewed for it. */
  forcedRenewal: 'ForcedRenewal',
  /** A vendor event: a forced renewal was refused (429 renewal_rate_limited). */
  renewalRateLimited: 'RenewalRateLimited',
  /** A vendor event: a vend ran out of its time budget (503). */
  budgetExceeded: 'BudgetExceeded',
  /** Upstream failures with the {@link DIMENSION.code} dimension (the API error code). */
  upstreamFailureByCode: 'UpstreamFailureByCode',
  /** The API vended a token. */
  vend: 'Vend',
  /** The API answered 503. */
  unavailable: 'Unavailable',
  /** The API answered another 5xx. */
  serverError: 'ServerError',
  /** Refresher run: tenants whose session was still fresh. */
  refreshFresh: 'RefreshFresh',
  /** Refresher run: tenants renewed. */
  refreshRenewed: 'RefreshRenewed',
  /** Refresher run: tenants that failed. */
  refreshFailed: 'RefreshFailed',
  /** Refresher run: tenants due for renewal that did not fit in the run's time (renewed next run, most urgent first). */
  refreshSkipped: 'RefreshSkipped',
  /** Refresher run: tenants discovered (secrets under the prefix). */
  refreshTenants: 'RefreshTenants',
  /** Export run: windows written to S3. */
  exportWindowsWritten: 'ExportWindowsWritten',
  /** Export run: windows already present and skipped. */
  exportWindowsSkipped: 'ExportWindowsSkipped',
  /** Export run failed. */
  exportFailed: 'ExportFailed',
  /** Export run: windows paused (out of time, or the upstream asked to wait longer than the run had): resumed next run. */
  exportWindowsPaused: 'ExportWindowsPaused',
  /** Export run: 1 when windows were pending and none was exported (all paused), else 0: a streak means no progress. */
  exportNoProgress: 'ExportNoProgress',
} as const;

/** One of the metric names above. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Metric dimensions. Powertools adds `service` (= {@link SERVICE_NAME}) to every metric. */
export const DIMENSION = {
  service: 'service',
  /** API error code of an upstream failure. */
  code: 'code',
  /** Export job name. */
  job: 'job',
} as const;

/** One of the dimension names above. */
export type DimensionName = (typeof DIMENSION)[keyof typeof DIMENSION];

/**
 * Encryption context of the shared cache's session items (KMS and AES-GCM both authenticate it). The key policy
 * conditions on these names (`kms:EncryptionContext:<name>`), so they are part of the contract.
 */
export const SESSION_ENCRYPTION_CONTEXT = {
  /** The tenant id the session belongs to. */
  tenant: 'tenant',
  /** The cache table's name. */
  table: 'table',
} as const;

/** File name of the access policy bundled next to the vend function's code (see {@link ENV.accessPolicyFile}). */
export const ACCESS_POLICY_FILE_NAME = 'access-policy.json';
