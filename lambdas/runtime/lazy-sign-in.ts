// Stand-ins that load the real provider or identity pool on their first call (see sign-in.ts).
import type { IdentityPool } from '../core/aws-credentials';
import type { AuthProvider } from '../core/ports';

export function lazyAuthProvider(load: () => Promise<AuthProvider>): AuthProvider {
  return {
    signIn: async (...args) => (await load()).signIn(...args),
    refresh: async (...args) => (await load()).refresh(...args),
  };
}

export function lazyIdentityPool(load: () => Promise<IdentityPool>): IdentityPool {
  return { credentials: async (...args) => (await load()).credentials(...args) };
}
