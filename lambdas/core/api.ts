// HTTP API v1, independent of API Gateway: the Lambda handler and the local server both adapt to it.
import type { AccessPolicy } from './access-policy';
import { presentCredentials, type CredentialsVendor, type CredentialsVendResult } from './credentials-vendor';
import { InvalidRequestError, MethodNotAllowedError, RouteNotFoundError, toErrorResponse } from './errors';
import { presentToken, type TokenResponseBody } from './presenter';
import { TENANT_ID_PATTERN } from './tenant-config';
import type { TokenVendor, VendResult } from './vendor';

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /**
   * Every query parameter with all its values. Adapters build it with {@link queryFromEntries}; only own
   * properties count, so names such as `__proto__` or `toString` are unknown parameters, never inherited ones.
   */
  readonly query: Readonly<Record<string, readonly string[]>>;
  readonly callerArn: string | undefined;
  readonly requestId: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** What happened, for logs and metrics; never holds a token. */
export interface ApiOutcome {
  readonly response: ApiResponse;
  readonly route: 'health' | 'token' | 'aws-credentials' | 'unknown';
  readonly tenantId?: string;
  readonly vend?: VendResult;
  /** Set when AWS credentials were vended (aws-credentials route). */
  readonly credentials?: CredentialsVendResult;
  readonly error?: unknown;
}

export const DEFAULT_MIN_TTL_SECONDS = 300;
export const MAX_MIN_TTL_SECONDS = 3600;

const TOKEN_ROUTE = /^\/v1\/tenants\/([^/]*)\/token$/;
const CREDENTIALS_ROUTE = /^\/v1\/tenants\/([^/]*)\/aws-credentials$/;
const COMMON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } as const;

/** Query parameters each route takes; any other is an unknown parameter (400). */
const TOKEN_PARAMETERS: ReadonlySet<string> = new Set(['minTtl', 'rejected']);
const NO_PARAMETERS: ReadonlySet<string> = new Set();
const CREDENTIALS_PARAMETERS: ReadonlySet<string> = new Set(['minTtl']);

/**
 * A query object from `[name, value]` pairs (URLSearchParams, API Gateway's multi-value map): a null-prototype
 * object, so every name, `__proto__` and `constructor` included, is an own key and nothing is inherited.
 */
export function queryFromEntries(entries: Iterable<readonly [string, string]>): Record<string, string[]> {
  const query = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of entries) {
    const values = Object.hasOwn(query, name) ? query[name] : undefined;
    if (values) values.push(value);
    else query[name] = [value];
  }
  return query;
}

/** The values of one parameter: own properties only, whatever kind of object the adapter built. */
function parameter(query: ApiRequest['query'], name: string): readonly string[] | undefined {
  return Object.hasOwn(query, name) ? query[name] : undefined;
}

function rejectUnknownParameters(query: ApiRequest['query'], known: ReadonlySet<string>): void {
  for (const name of Reflect.ownKeys(query).map(String)) {
    if (!known.has(name)) {
      const hint = known.size > 0 ? `use ${[...known].join(' or ')}` : 'this route takes none';
      throw new InvalidRequestError(`Unknown query parameter '${name.slice(0, 64)}'; ${hint}.`);
    }
  }
}

/** `rejected=<fingerprint>`: the upstream refused the token with this fingerprint, so do not hand it out again. */
export function parseRejected(query: ApiRequest['query']): string | undefined {
  const values = parameter(query, 'rejected');
  if (!values || values.length === 0) return undefined;
  if (values.length > 1 || !/^[0-9a-f]{16}$/.test(values[0] ?? '')) {
    throw new InvalidRequestError('rejected must be given once, as the 16-hex-digit fingerprint of a token.');
  }
  return values[0];
}

export function parseMinTtl(query: ApiRequest['query']): number {
  const values = parameter(query, 'minTtl');
  if (!values || values.length === 0) return DEFAULT_MIN_TTL_SECONDS;
  if (values.length > 1) throw new InvalidRequestError('minTtl must be given at most once.');
  const raw = values[0] ?? '';
  if (!/^\d{1,6}$/.test(raw) || Number(raw) > MAX_MIN_TTL_SECONDS) {
    throw new InvalidRequestError(`minTtl must be an integer number of seconds from 0 to ${MAX_MIN_TTL_SECONDS}.`);
  }
  return Number(raw);
}

export function parseTenantId(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    decoded = raw;
  }
  if (!TENANT_ID_PATTERN.test(decoded)) {
    throw new InvalidRequestError(
      'tenantId must be 1-64 lowercase letters, digits or hyphens, not starting or ending with a hyphen.',
    );
  }
  return decoded;
}

export class TokenApi {
  constructor(
    /** Vends (from cache or upstream) a session valid for the given minTtl. */
    private readonly vendor: Pick<TokenVendor, 'vend'>,
    /** Decides whether the caller may have the tenant's tokens (deny by default). */
    private readonly policy: Pick<AccessPolicy, 'authorise'>,
    /** Time source for `expiresIn`. */
    private readonly clock: { now(): number },
    /** Vends identity pool credentials (aws-credentials route); without it the route does not exist. */
    private readonly credentials?: Pick<CredentialsVendor, 'vend'>,
  ) {}

  async handle(request: ApiRequest): Promise<ApiOutcome> {
    const tokenMatch = TOKEN_ROUTE.exec(request.path);
    const credentialsMatch = this.credentials ? CREDENTIALS_ROUTE.exec(request.path) : null;
    const route =
      request.path === '/v1/health'
        ? 'health'
        : tokenMatch
          ? 'token'
          : credentialsMatch
            ? 'aws-credentials'
            : 'unknown';
    let tenantId: string | undefined;
    try {
      if (route === 'unknown') throw new RouteNotFoundError(request.method, request.path);
      if (request.method !== 'GET') throw new MethodNotAllowedError(request.method, ['GET']);
      if (route === 'health') {
        rejectUnknownParameters(request.query, NO_PARAMETERS);
        return { route, response: { status: 200, headers: { ...COMMON_HEADERS }, body: { status: 'ok' } } };
      }

      if (route === 'aws-credentials' && this.credentials) {
        tenantId = parseTenantId(credentialsMatch?.[1] ?? '');
        rejectUnknownParameters(request.query, CREDENTIALS_PARAMETERS);
        const minTtl = parseMinTtl(request.query);
        this.policy.authorise(request.callerArn, tenantId);
        const credentials = await this.credentials.vend(tenantId, minTtl);
        const body = presentCredentials(credentials.session);
        return { route, tenantId, credentials, response: { status: 200, headers: { ...COMMON_HEADERS }, body } };
      }
      tenantId = parseTenantId(tokenMatch?.[1] ?? '');
      rejectUnknownParameters(request.query, TOKEN_PARAMETERS);
      const minTtl = parseMinTtl(request.query);
      const rejected = parseRejected(request.query);
      this.policy.authorise(request.callerArn, tenantId);
      const vend = await this.vendor.vend(tenantId, minTtl, rejected);
      const body: TokenResponseBody = presentToken(vend.tenant, vend.session, this.clock.now());
      return { route, tenantId, vend, response: { status: 200, headers: { ...COMMON_HEADERS }, body } };
    } catch (error) {
      return { route, tenantId, error, response: this.errorResponse(error, request) };
    }
  }

  private errorResponse(error: unknown, request: ApiRequest): ApiResponse {
    // Authorisation runs before the tenant is looked up, so a caller limited to some
    // tenants gets 403 for every other id and never learns which tenants exist.
    const mapped = toErrorResponse(error);
    return {
      status: mapped.status,
      headers: { ...COMMON_HEADERS, ...mapped.headers },
      body: { error: { code: mapped.code, message: mapped.message }, requestId: request.requestId },
    };
  }
}
