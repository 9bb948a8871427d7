// Each request of the local server as its own invocation, for Powertools: the Lambda context, the appended log keys
// and the stored metrics are kept per request, so a log line carries its own request's id, never the one of a request
// that came in meanwhile (the server serves requests concurrently; one Lambda environment, one at a time).
//
// Lambda's runtime does the same when one environment serves several invocations at once (`AWS_LAMBDA_MAX_CONCURRENCY`):
// it runs each invocation in the `InvokeStore` (an AsyncLocalStorage), where Powertools keeps that state. The store
// the AWS SDK may already have created in this process (single-invocation, created without that variable) cannot hold
// concurrent requests apart, so this one replaces it as the process's store.
import { AsyncLocalStorage } from 'node:async_hooks';

import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

type InvocationContext = Record<string | symbol, unknown>;

/** An InvokeStore whose context follows each asynchronous call chain, as Lambda's concurrent runtime keeps it. */
class ConcurrentInvokeStore extends InvokeStoreBase {
  private readonly storage = new AsyncLocalStorage<InvocationContext>();

  getContext(): InvocationContext | undefined {
    return this.storage.getStore();
  }

  hasContext(): boolean {
    return this.storage.getStore() !== undefined;
  }

  get<T = unknown>(key: string | symbol): T | undefined {
    return this.storage.getStore()?.[key] as T | undefined;
  }

  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    const context = this.storage.getStore();
    if (!context) throw new Error('No invocation context available');
    context[key] = value;
  }

  run<T>(context: InvocationContext, fn: () => T): T {
    return this.storage.run(context, fn);
  }
}

/** The runtime's namespace on the global object, where Powertools looks for the store. */
const runtime = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };

/**
 * Makes the process's store a concurrent one (once; before the first request). The library's own instance is settled
 * first, while `AWS_LAMBDA_MAX_CONCURRENCY` is still unset: the AWS SDK asks for it on every call, and asked after
 * the variable is set it would build a concurrent store of its own through a dynamic import (which a test runner's
 * module sandbox may refuse) only to hand back this one.
 */
export async function useConcurrentInvocations(): Promise<void> {
  await InvokeStore.getInstanceAsync();
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '1000';
  runtime.awslambda ??= {};
  if (!(runtime.awslambda.InvokeStore instanceof ConcurrentInvokeStore))
    runtime.awslambda.InvokeStore = new ConcurrentInvokeStore();
}

/** Runs `fn` as the invocation `requestId` (after {@link useConcurrentInvocations}). */
export function asInvocation<T>(requestId: string, fn: () => T): T {
  const store = runtime.awslambda?.InvokeStore;
  if (!(store instanceof ConcurrentInvokeStore)) return fn();
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, fn);
}
