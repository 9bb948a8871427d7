// How a session is stored in the shared cache table: everything that can mint or stand in for a token (ID,
// access and refresh tokens, claims, identity id) is sealed with the envelope under the context
// {tenant, table}; only what scheduling and compare-and-swap need stays readable (secret version, expiry, issue
// time; `rev` and `ttl` are written by the table adapter). A table reader without the key sees no credential.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

import { SESSION_ENCRYPTION_CONTEXT } from '../../contract';
import type { Session } from '../core/ports';
import type { EncryptionContext, Envelope } from './envelope';

/** Item attribute holding the sealed session (binary). */
export const SEALED_ATTRIBUTE = 'sealed';

export class SessionItemCodec {
  constructor(
    private readonly envelope: Envelope,
    private readonly tableName: string,
  ) {}

  context(tenantId: string): EncryptionContext {
    return { [SESSION_ENCRYPTION_CONTEXT.tenant]: tenantId, [SESSION_ENCRYPTION_CONTEXT.table]: this.tableName };
  }

  /** The item's attributes for `session`, except its key, `rev` and `ttl`. */
  async attributes(session: Session): Promise<Record<string, AttributeValue>> {
    const { revision: _revision, ...data } = session;
    const sealed = await this.envelope.seal(Buffer.from(JSON.stringify(data)), this.context(session.tenantId));
    return {
      [SEALED_ATTRIBUTE]: { B: sealed },
      secretVersion: { S: session.secretVersion },
      expiresAt: { N: String(session.expiresAt) },
      issuedAt: { N: String(session.issuedAt) },
      // Presence only, for operators (`tvm tenants`): whether the session can renew without the password.
      hasRefreshToken: { BOOL: session.refreshToken !== undefined },
    };
  }

  /**
   * The session in `item`, or undefined for an item without a sealed session (written before items were
   * encrypted: never trusted, and replaced by the next write). Every field comes from the sealed, authenticated
   * part; the readable copies are for scheduling only. Throws `EnvelopeOpenError` when it can never open.
   */
  async session(tenantId: string, item: Record<string, AttributeValue>): Promise<Session | undefined> {
    const sealed = item[SEALED_ATTRIBUTE]?.B;
    if (!sealed) return undefined;
    const data = JSON.parse(Buffer.from(await this.envelope.open(sealed, this.context(tenantId))).toString('utf8'));
    return { ...(data as Session), tenantId, revision: Number(item.rev?.N ?? 0) };
  }
}

/** What an operator may see of a session item without opening it: never a token, never the sealed part. */
export interface SessionSummary {
  readonly secretVersion: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  /** Epoch seconds: when the session was obtained (the last sign-in or refresh). */
  readonly issuedAt: number;
  /** Undefined for items written before the flag existed. */
  readonly hasRefreshToken?: boolean;
  readonly revision: number;
}

/** Attributes {@link sessionSummaryOf} reads (a ProjectionExpression can name exactly these). */
export const SUMMARY_ATTRIBUTES = ['secretVersion', 'expiresAt', 'issuedAt', 'hasRefreshToken', 'rev'] as const;

/** The readable part of a session item; undefined when it lacks one (written before it existed). */
export function sessionSummaryOf(item: Record<string, AttributeValue>): SessionSummary | undefined {
  const secretVersion = item.secretVersion?.S;
  const expiresAt = Number(item.expiresAt?.N);
  const issuedAt = Number(item.issuedAt?.N);
  if (secretVersion === undefined || !Number.isFinite(expiresAt) || !Number.isFinite(issuedAt)) return undefined;
  const flag = item.hasRefreshToken?.BOOL;
  return {
    secretVersion,
    expiresAt,
    issuedAt,
    ...(flag === undefined ? {} : { hasRefreshToken: flag }),
    revision: Number(item.rev?.N ?? 0),
  };
}
