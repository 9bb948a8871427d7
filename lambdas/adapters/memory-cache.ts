import type { FailureMark, FailureMarks, Session, SessionCache } from '../core/ports';

/** L1: sessions held in this container's memory. Expired entries are dropped on read. */
export class MemorySessionCache implements SessionCache {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly clock: { now(): number } = Date) {}

  async get(tenantId: string): Promise<Session | undefined> {
    const session = this.sessions.get(tenantId);
    if (session && session.expiresAt * 1000 <= this.clock.now()) {
      this.sessions.delete(tenantId);
      return undefined;
    }
    return session;
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
