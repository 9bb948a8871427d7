import type { TokenResponseBody } from '../../contract/api';
import type { Session, TenantRecord } from './ports';

/** The 200 body of GET /v1/tenants/{tenantId}/token: defined in the API contract, shared with the client. */
export type { TokenResponseBody };

/** Values a header template may use. `apiKey` exists only for login-endpoint tenants, whose upstream wants it on every call. */
function placeholderValues(tenant: TenantRecord, session: Session): Record<string, string | undefined> {
  return {
    idToken: session.tokens.idToken,
    accessToken: session.tokens.accessToken,
    token: session.tokens.token,
    identityId: session.identityId,
    apiKey: tenant.config.provider === 'login-endpoint' ? tenant.config.apiKey : undefined,
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

export function presentToken(tenant: TenantRecord, session: Session, nowMs: number): TokenResponseBody {
  return {
    tenantId: session.tenantId,
    provider: session.provider,
    ...session.tokens,
    ...(session.identityId ? { identityId: session.identityId } : {}),
    expiresAt: new Date(session.expiresAt * 1000).toISOString(),
    expiresIn: Math.max(0, session.expiresAt - Math.floor(nowMs / 1000)),
    headers: renderHeaders(tenant.config.headers, placeholderValues(tenant, session)),
    claims: selectClaims(session.claims, tenant.config.claims),
  };
}
