// token-vending-machine consumer library (`token-vending-machine/client`): depends only on the API contract,
// never on the service's internals or the CDK.
export {
  regionFromEndpoint,
  TokenApiError,
  TokenClient,
  type AwsCredentialsResponse,
  type GetAwsCredentialsOptions,
  type GetTokenOptions,
  type TokenApiErrorCode,
  type TokenClientOptions,
  type TokenResponse,
} from './token-client';
export type {
  AwsCredentialsResponseBody,
  ErrorResponseBody,
  TokenProvider,
  TokenResponseBody,
  VendedTokens,
} from '../contract/api';
export { ERROR_CODES, isErrorCode, STATUS_BY_CODE, type ErrorCode } from '../contract/error-codes';
export { fingerprint, primaryToken } from '../contract/fingerprint';
