import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

import { METRIC } from '../../contract/names';
import { queryFromEntries, type ApiOutcome, type ApiRequest, type ApiResponse } from '../core/api';
import { toErrorResponse } from '../core/errors';
import { fingerprint, primaryToken } from '../core/fingerprint';
import type { Runtime } from '../runtime/compose';
import type { Observability } from './observability';
import { withObservability } from './with-observability';

/**
 * The path the API routes on. Where API Gateway matched a resource of ours, it is rebuilt from that resource's
 * template and the path parameters API Gateway decoded: behind a custom domain, `event.path` also holds the base
 * path mapping (`/tvm/v1/health`), `event.resource` never does. The catch-all `{proxy+}` (and local mode, which sets
 * the resource to the path) route on the path as sent.
 */
/** A path parameter as a path segment; one that is not well-formed Unicode (a lone surrogate) as `%EF%BF%BD`. */
function encodeParameter(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}

function routedPath(event: Partial<APIGatewayProxyEvent>): string {
  const resource = event.resource;
  if (typeof resource === 'string' && resource.startsWith('/') && !resource.includes('+}')) {
    return resource.replace(/\{([^}]+)\}/g, (_match, name: string) =>
      encodeParameter(String(event.pathParameters?.[name] ?? '')),
    );
  }
  return typeof event.path === 'string' ? event.path : '/';
}

/** A query value of a direct invocation as text (what API Gateway would have passed as a string). */
function parameterText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' ? '[object]' : String(value);
}

/** An object's own entries, or none for anything else (null, an array, a string, a number). */
function plainObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** API Gateway REST proxy event -> the API's neutral request. */
export function toApiRequest(
  proxyEvent: APIGatewayProxyEvent | null | undefined,
  context: Pick<Context, 'awsRequestId'>,
): ApiRequest {
  // A direct invocation may send anything: what is not an API Gateway event routes nowhere (404/405), never throws.
  const event: Partial<APIGatewayProxyEvent> = typeof proxyEvent === 'object' && proxyEvent !== null ? proxyEvent : {};
  // Null-prototype query (queryFromEntries): `?__proto__=1` or `?constructor=1` is an unknown parameter, not a
  // property of Object.prototype.
  // API Gateway sends a map of string lists and a map of strings. A direct invocation may put anything in them: a
  // value that is not a string is still the parameter's value (its text: `99999`, `[object]`), validated like
  // any other, never dropped so that a default would apply (a string is not iterated character by character, and a
  // name with no value in the list map falls back to the single-value map).
  const entries: [string, string][] = [];
  const multi = plainObject(event.multiValueQueryStringParameters);
  const listed = new Set<string>();
  for (const [name, values] of Object.entries(multi)) {
    for (const value of Array.isArray(values) ? (values as unknown[]) : [values]) {
      if (value === undefined || value === null) continue;
      entries.push([name, parameterText(value)]);
      listed.add(name);
    }
  }
  for (const [name, value] of Object.entries(plainObject(event.queryStringParameters))) {
    if (!listed.has(name) && value !== undefined && value !== null) entries.push([name, parameterText(value)]);
  }
  const userArn: unknown = event.requestContext?.identity?.userArn;
  return {
    // No method is no method (405 on a route), not GET; methods are case-sensitive (`get` is not GET).
    method: typeof event.httpMethod === 'string' ? event.httpMethod : '',
    path: routedPath(event),
    query: queryFromEntries(entries),
    callerArn: typeof userArn === 'string' ? userArn : undefined,
    requestId:
      typeof event.requestContext?.requestId === 'string' ? event.requestContext.requestId : context.awsRequestId,
  };
}

export function toProxyResult(response: ApiResponse): APIGatewayProxyResult {
  return { statusCode: response.status, headers: response.headers, body: JSON.stringify(response.body) };
}

/** Name and message of an expected failure and of its cause, without stacks. */
function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const cause = error.cause instanceof Error ? { cause: { name: error.cause.name, message: error.cause.message } } : {};
  return { name: error.name, message: error.message, ...cause };
}

/**
 * Fingerprints for the audit line, computed once per session: a hit hands back the same session objects, so a
 * SHA-256 per hit is not needed. Keyed weakly on the object that holds the token (an evicted session takes its entry
 * with it), and checked against the token itself, so a token changed in place is never audited under another's.
 */
const fingerprints = new WeakMap<object, { readonly token: string; readonly fingerprint: string }>();
function fingerprintOf(owner: object, token: string): string {
  const known = fingerprints.get(owner);
  if (known?.token === token) return known.fingerprint;
  const computed = fingerprint(token);
  fingerprints.set(owner, { token, fingerprint: computed });
  return computed;
}

function logOutcome({ logger, metrics }: Observability, request: ApiRequest, outcome: ApiOutcome): void {
  const base = {
    route: outcome.route,
    method: request.method,
    status: outcome.response.status,
    caller: request.callerArn,
    tenantId: outcome.tenantId,
  };
  if (outcome.vend) {
    const { session, source } = outcome.vend;
    const token = primaryToken(session.tokens);
    metrics.addMetric(METRIC.vend, MetricUnit.Count, 1);
    logger.info('token vended', {
      ...base,
      cache: source,
      expiresAt: session.expiresAt,
      tokenFingerprint: fingerprintOf(session.tokens, token),
    });
    return;
  }
  if (outcome.credentials) {
    // Audited like tokens: who got which credentials (by fingerprint of the session token), never the keys.
    const { session, source } = outcome.credentials;
    metrics.addMetric(METRIC.vend, MetricUnit.Count, 1);
    logger.info('aws credentials vended', {
      ...base,
      cache: source,
      identityId: session.identityId,
      expiresAt: session.credentials.expiresAt,
      credentialsFingerprint: fingerprintOf(session.credentials, session.credentials.sessionToken),
    });
    return;
  }
  if (outcome.error === undefined) {
    logger.debug('request served', base);
    return;
  }
  const mapped = toErrorResponse(outcome.error);
  if (mapped.status >= 500)
    metrics.addMetric(mapped.status === 503 ? METRIC.unavailable : METRIC.serverError, MetricUnit.Count, 1);
  if (mapped.code === 'internal_error') {
    // A bug: the Error object itself, so the logger prints name, message, stack and the cause chain.
    const error = outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
    logger.error('request failed', { ...base, code: mapped.code, error });
  } else {
    // An answer the API gives by design: name and message (and the cause's, kept only where it holds no secret).
    logger.warn('request refused', { ...base, code: mapped.code, error: describeError(outcome.error) });
  }
}

/** The thin Lambda entry: adapt the event, let the API answer, log the outcome. */
export function createHttpHandler(runtime: Runtime, observability: Observability) {
  const handle = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const request = toApiRequest(event, context);
    const outcome = await runtime.api.handle(request);
    logOutcome(observability, request, outcome);
    return toProxyResult(outcome.response);
  };
  return withObservability(handle, observability);
}
