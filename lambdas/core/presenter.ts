import type { TokenResponseBody } from '../../contract/api';
import { assertHeaderSafe, MAX_RENDERED_HEADER_LENGTH } from './header-safety';
import type { Session, TenantRecord } from './ports';

/** The 200 body of GET /v1/tenants/{tenantId}/token: defined in the API contract, shared with the client. */
export type { TokenResponseBody };

/** The API key a header template may use: only login-endpoint tenants have one (their upstream wants it on every call). */
function apiKeyOf(tenant: TenantRecord): string | undefined {
  return tenant.config.provider === 'login-endpoint' ? tenant.config.apiKey : undefined;
}

/** Values a header template may use. */
function placeholderValues(tenant: TenantRecord, session: Session): Record<string, string | undefined> {
  return {
    idToken: session.tokens.idToken,
    accessToken: session.tokens.accessToken,
    token: session.tokens.token,
    identityId: session.identityId,
    apiKey: apiKeyOf(tenant),
  };
}

/** Render `{placeholder}` templates; a header whose placeholder has no value is left out rather than sent half-filled. */
export function renderHeaders(
  templates: Readonly<Record<string, string>>,
  values: Record<string, string | undefined>,
): Record<string, string> {
  const rendered: Record<string, string> = {};
  for (const [name, template] of Object.entries(templates)) {
    let complete = true;
    const value = template.replace(/\{([^}]*)\}/g, (_match, key: string) => {
      const replacement = Object.hasOwn(values, key) ? values[key] : undefined;
      if (replacement === undefined) complete = false;
      return replacement ?? '';
    });
    if (complete) rendered[name] = value;
  }
  return rendered;
}

export function selectClaims(
  claims: Readonly<Record<string, unknown>>,
  wanted: readonly string[],
): Record<string, unknown> {
  const selected: Record<string, unknown> = {};
  for (const name of wanted) {
    if (Object.hasOwn(claims, name)) selected[name] = claims[name];
  }
  return selected;
}

/**
 * Defence in depth: providers refuse unsafe values before anything is cached, and the presenter checks again what it
 * hands out (token fields, identity id, every rendered header), so no cached or future path can vend one.
 */
function assertPresentable(session: Session, headers: Readonly<Record<string, string>>): void {
  const { tenantId } = session;
  for (const [field, value] of Object.entries(session.tokens)) {
    if (typeof value === 'string') assertHeaderSafe(tenantId, field, value);
  }
  if (session.identityId !== undefined) assertHeaderSafe(tenantId, 'identity id', session.identityId);
  for (const [name, value] of Object.entries(headers)) {
    if (value !== '') assertHeaderSafe(tenantId, `header ${name}`, value, MAX_RENDERED_HEADER_LENGTH);
  }
}

/** What a session's rendered headers depend on besides the session: the templates and the API key. */
interface HeaderInputs {
  readonly templates: Readonly<Record<string, string>>;
  readonly apiKey: string | undefined;
}

/**
 * The rendered and checked headers of each session, with the tenant's templates and API key they were rendered
 * from. Sessions are immutable (a renewal makes a new one), so a cache hit of the same session renders and checks
 * nothing again; a rotated secret (new templates object, or a new API key) renders again. The entry keeps neither
 * the tenant record nor its password, and goes with its session.
 */
const checkedHeaders = new WeakMap<Session, HeaderInputs & { readonly headers: Record<string, string> }>();

function presentableHeaders(tenant: TenantRecord, session: Session): Record<string, string> {
  const templates = tenant.config.headers;
  const apiKey = apiKeyOf(tenant);
  const known = checkedHeaders.get(session);
  if (known?.templates === templates && known.apiKey === apiKey) return known.headers;
  const headers = Object.freeze(renderHeaders(templates, placeholderValues(tenant, session)));
  assertPresentable(session, headers);
  checkedHeaders.set(session, { templates, apiKey, headers });
  return headers;
}

export function presentToken(tenant: TenantRecord, session: Session, nowMs: number): TokenResponseBody {
  const headers = presentableHeaders(tenant, session);
  return {
    tenantId: session.tenantId,
    provider: session.provider,
    ...session.tokens,
    ...(session.identityId ? { identityId: session.identityId } : {}),
    expiresAt: new Date(session.expiresAt * 1000).toISOString(),
    expiresIn: Math.max(0, session.expiresAt - Math.floor(nowMs / 1000)),
    headers,
    claims: selectClaims(session.claims, tenant.config.claims),
  };
}
