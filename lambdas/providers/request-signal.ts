// The abort signal of one upstream HTTP request: its own timeout, and the vend's time budget when the vendor
// passes one, whichever ends first.

import type { UpstreamCall } from '../core/ports';

export function requestSignal(timeoutMs: number, call: UpstreamCall | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return call ? AbortSignal.any([timeout, call.signal]) : timeout;
}
