import type { AuthProvider, Clock, ProviderSession, Session } from '../../lambdas/core/ports';
import type { TenantConfig } from '../../lambdas/core/tenant-config';

export class FakeClock implements Clock {
  constructor(private ms = Date.UTC(2026, 10, 23, 12, 0, 0)) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  nowSeconds(): number {
    return Math.floor(this.ms / 1000);
  }
}

/** A clock that runs with real time plus an offset, for suites where real upstreams must agree on the time. */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

type Step = (tenantId: string, config: TenantConfig, session?: Session) => Promise<ProviderSession> | ProviderSession;

/** Scripted provider: counts calls and answers from queued steps, else issues tokens valid for `lifetimeSeconds`. */
export class FakeProvider implements AuthProvider {
  signIns = 0;
  refreshes = 0;
  lifetimeSeconds = 3600;
  delayMs = 0;
  readonly signInSteps: Step[] = [];
  readonly refreshSteps: Step[] = [];
  private serial = 0;

  constructor(private readonly clock: Clock) {}

  async signIn(tenantId: string, config: TenantConfig): Promise<ProviderSession> {
    this.signIns++;
    await this.pause();
    const step = this.signInSteps.shift();
    return step ? step(tenantId, config) : this.issue('password');
  }

  async refresh(tenantId: string, config: TenantConfig, session: Session): Promise<ProviderSession> {
    this.refreshes++;
    await this.pause();
    const step = this.refreshSteps.shift();
    return step ? step(tenantId, config, session) : this.issue('refresh', session.refreshToken);
  }

  issue(via: string, refreshToken = `refresh-${++this.serial}`): ProviderSession {
    const n = ++this.serial;
    return {
      tokens: { idToken: `id-${via}-${n}`, accessToken: `access-${via}-${n}` },
      refreshToken,
      claims: { 'custom:companyId': 'acme-co', sub: `user-${n}` },
      expiresAt: Math.floor(this.clock.now() / 1000) + this.lifetimeSeconds,
    };
  }

  private async pause(): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }
}

export const cognitoSecret = {
  provider: 'cognito',
  region: 'ap-southeast-2',
  userPoolId: 'ap-southeast-2_AbC123',
  clientId: '7jhe1lfkb5pvhbkicc3d14m0ej',
  username: 'ops@example.com',
  password: 'Sup3r-Secret-Pa55!',
  claims: ['custom:companyId'],
} as const;

export const loginEndpointSecret = {
  provider: 'login-endpoint',
  baseUrl: 'https://api.example.com',
  apiKey: 'api-key-0123456789abcdef',
  username: 'ops@example.com',
  password: 'An0ther-Secret!',
} as const;
