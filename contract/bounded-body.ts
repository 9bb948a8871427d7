// Reading an HTTP answer's body with a cap on its size, shared by the token client and the service's upstream
// calls: both read answers from parties they do not control, and neither may buffer whatever arrives.

/** The body was over the cap: refused by its declared `content-length`, or as soon as more than the cap arrived. */
export class BodyTooLongError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The answer's body is over ${maxBytes} bytes.`);
    this.name = 'BodyTooLongError';
  }
}

/**
 * The body as UTF-8 text, at most `maxBytes`: a larger declared `content-length` is refused without reading, and
 * reading stops (the stream is cancelled) as soon as more arrives, so memory stays bounded whatever is sent.
 * Throws BodyTooLongError; a failure of the stream itself (a broken connection, an abort, a body its
 * `content-encoding` cannot decode) is thrown as the stream threw it.
 */
export async function readBodyUpTo(
  response: Response,
  maxBytes: number,
  /** Refuse a body that is not valid UTF-8 (a TypeError) instead of reading it with U+FFFD in place of the bad bytes. */
  options: { readonly fatal?: boolean } = {},
): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLongError(maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLongError(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = Buffer.concat(chunks);
  return options.fatal ? new TextDecoder('utf-8', { fatal: true }).decode(bytes) : bytes.toString('utf8');
}
