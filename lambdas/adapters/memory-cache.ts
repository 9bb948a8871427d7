import type { FailureMark, FailureMarks, Session, SessionCache } from '../core/ports';

/**
 * L1: sessions held in this container's memory, one per tenant. Expired sessions stay:
 * their refresh token still renews without the password.
 */
export class MemorySessionCache implements SessionCache {
  private readonly sessions = new Map<string, Session>();

  async get(tenantId: string): Promise<Session | undefined> {
    return this.sessions.get(tenantId);
  }

  async put(session: Session): Promise<void> {
    this.sessions.set(session.tenantId, session);
  }

  async delete(tenantId: string): Promise<void> {
    this.sessions.delete(tenantId);
  }
}

/** Lockout marks held in this container's memory. */
export class MemoryFailureMarks implements FailureMarks {
  private readonly marks = new Map<string, FailureMark>();

  async get(tenantId: string): Promise<FailureMark | undefined> {
    return this.marks.get(tenantId);
  }

  async put(tenantId: string, mark: FailureMark): Promise<void> {
    this.marks.set(tenantId, mark);
  }

  async clear(tenantId: string): Promise<void> {
    this.marks.delete(tenantId);
  }
}
