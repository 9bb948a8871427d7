import * as apigw from 'aws-cdk-lib/aws-apigateway';

import { STATUS_BY_CODE, type ErrorCode } from '../contract/error-codes';

// API Gateway answers some requests itself, before the function runs. These gateway responses make those answers
// follow the API's error shape `{"error":{"code","message"},"requestId"}` with API Gateway's request id, a stable
// code and `Cache-Control: no-store`. Unknown routes and methods never reach them: a catch-all route sends every
// signed request to the function, which answers `not_found` / `method_not_allowed` itself.

/** One of API Gateway's own answers, as the API presents it. */
export interface GatewayResponseDefinition {
  readonly type: apigw.ResponseType;
  readonly code: ErrorCode;
  readonly message: string;
  /** Extra headers, as literal values. */
  readonly headers?: Readonly<Record<string, string>>;
}

const SIGN = 'Sign the request with SigV4 for service execute-api using valid, unexpired AWS credentials.';

export const GATEWAY_RESPONSES: readonly GatewayResponseDefinition[] = [
  { type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, code: 'unauthenticated', message: `Not signed. ${SIGN}` },
  { type: apigw.ResponseType.INVALID_SIGNATURE, code: 'unauthenticated', message: `Bad signature. ${SIGN}` },
  { type: apigw.ResponseType.EXPIRED_TOKEN, code: 'unauthenticated', message: `Expired credentials. ${SIGN}` },
  { type: apigw.ResponseType.UNAUTHORIZED, code: 'unauthenticated', message: SIGN },
  {
    type: apigw.ResponseType.ACCESS_DENIED,
    code: 'forbidden',
    message: "The caller is not admitted by the API's resource policy.",
  },
  { type: apigw.ResponseType.WAF_FILTERED, code: 'forbidden', message: 'The request was blocked by the web ACL.' },
  { type: apigw.ResponseType.RESOURCE_NOT_FOUND, code: 'not_found', message: 'No such route.' },
  {
    type: apigw.ResponseType.THROTTLED,
    code: 'throttled',
    message: 'Too many requests to the token API; retry after the given seconds.',
    headers: { 'Retry-After': '1' },
  },
  {
    type: apigw.ResponseType.QUOTA_EXCEEDED,
    code: 'throttled',
    message: 'The request quota of the token API is used up; retry later.',
    headers: { 'Retry-After': '60' },
  },
  {
    type: apigw.ResponseType.INTEGRATION_TIMEOUT,
    code: 'upstream_timeout',
    message: 'The token service did not answer in time; retry.',
  },
  { type: apigw.ResponseType.BAD_REQUEST_PARAMETERS, code: 'invalid_request', message: 'Missing or bad parameters.' },
  { type: apigw.ResponseType.BAD_REQUEST_BODY, code: 'invalid_request', message: 'Bad request body.' },
  { type: apigw.ResponseType.DEFAULT_4XX, code: 'invalid_request', message: 'The request was refused.' },
  { type: apigw.ResponseType.DEFAULT_5XX, code: 'internal_error', message: 'The token API failed; retry later.' },
];

/** The response template: the API's error body with API Gateway's request id. */
export function errorTemplate(code: ErrorCode, message: string): string {
  // Messages are fixed strings without quotes or `$`, so the template needs no escaping.
  return JSON.stringify({ error: { code, message }, requestId: '$context.requestId' });
}

/** Add every gateway response to the API. */
export function addGatewayResponses(api: apigw.RestApi): void {
  for (const definition of GATEWAY_RESPONSES) {
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...definition.headers };
    api.addGatewayResponse(definition.type.responseType, {
      type: definition.type,
      statusCode: String(STATUS_BY_CODE[definition.code]),
      responseHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, `'${value}'`])),
      templates: { 'application/json': errorTemplate(definition.code, definition.message) },
    });
  }
}
