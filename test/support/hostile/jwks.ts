import type { Reply } from './loopback-server';
import type { TokenMinter } from './token-minter';

/**
 * How a JWKS endpoint behaves: serve the keys, fail with 500, accept and never
 * answer, or redirect (to `location`).
 */
export type JwksMode =
  | { readonly kind: 'ok' }
  | { readonly kind: 'fail' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'redirect'; readonly location: string };

/** A JWKS route: counts fetches and answers according to the current mode. */
export class JwksRoute {
  mode: JwksMode = { kind: 'ok' };
  fetches = 0;

  constructor(private readonly minter: TokenMinter) {}

  answer(): Reply {
    this.fetches++;
    switch (this.mode.kind) {
      case 'ok':
        return { status: 200, body: this.minter.jwks };
      case 'fail':
        return { status: 500, body: { message: 'key store down' } };
      case 'hang':
        return 'hang';
      case 'redirect':
        return { status: 302, headers: { location: this.mode.location } };
    }
  }
}
