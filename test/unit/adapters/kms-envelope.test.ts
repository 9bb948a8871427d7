import {
  DataKeyEnvelope,
  EnvelopeOpenError,
  localEnvelope,
  LocalKeyProvider,
  type Envelope,
} from '../../../lambdas/adapters/envelope';
import { kmsEnvelope, KmsKeyProvider } from '../../../lambdas/adapters/kms-envelope';
import { cacheEnvelopeFor } from '../../../lambdas/runtime/compose';
import { fakeKms, KEY_ARN, type FakeKms } from '../../support/fake-kms';
import { FakeClock } from '../../support/fakes';

const context = { tenant: 'acme', table: 'tvm-cache' };
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const bytes = (value: string) => Buffer.from(value);

let kms: FakeKms;
beforeEach(() => {
  kms = fakeKms();
});
afterEach(() => kms.restore());

function envelope(clock = new FakeClock(), keyId = KEY_ARN): Envelope {
  return kmsEnvelope({ keyId, client: kms.client(), clock });
}

describe('KMS envelope', () => {
  it('seals with a data key made under the context and opens in another container with one Decrypt', async () => {
    const writer = envelope();
    const sealed = await Promise.all(['one', 'two', 'three'].map((v) => writer.seal(bytes(v), context)));
    expect(kms.calls.generate).toBe(1); // concurrent seals share one data key
    expect(sealed.map((s) => Buffer.from(s).toString('latin1')).join()).not.toMatch(/one|two|three/);
    expect(text(await writer.open(sealed[0] as Uint8Array, context))).toBe('one');
    expect(kms.calls.decrypt).toBe(0); // the writer knows its own data key

    const reader = envelope();
    expect(await Promise.all(sealed.map(async (s) => text(await reader.open(s, context))))).toEqual([
      'one',
      'two',
      'three',
    ]);
    expect(kms.calls.decrypt).toBe(1); // concurrent opens share one Decrypt
    expect(await reader.open(sealed[1] as Uint8Array, context).then(text)).toBe('two');
    expect(kms.calls.decrypt).toBe(1); // remembered
  });

  it('uses a new data key per context and after the maximum age', async () => {
    const clock = new FakeClock();
    const writer = envelope(clock);
    await writer.seal(bytes('a'), context);
    await writer.seal(bytes('b'), { ...context, tenant: 'globex' });
    expect(kms.calls.generate).toBe(2);
    clock.advance(299);
    await writer.seal(bytes('c'), context);
    expect(kms.calls.generate).toBe(2);
    clock.advance(2);
    await writer.seal(bytes('d'), context);
    expect(kms.calls.generate).toBe(3);
  });

  it('refuses a value moved to another tenant or table, or tampered with, as never openable', async () => {
    const sealed = await envelope().seal(bytes('refresh-token'), context);
    const reader = envelope();
    await expect(reader.open(sealed, { ...context, tenant: 'globex' })).rejects.toBeInstanceOf(EnvelopeOpenError);
    await expect(reader.open(sealed, { ...context, table: 'other' })).rejects.toBeInstanceOf(EnvelopeOpenError);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    await expect(reader.open(tampered, context)).rejects.toThrow(/failed authentication/);
    await expect(reader.open(bytes('plain'), context)).rejects.toBeInstanceOf(EnvelopeOpenError);
    // KMS itself refusing the data key under the wrong context is the same kind of failure.
    const provider = new KmsKeyProvider({ keyId: KEY_ARN, client: kms.client() });
    const key = await provider.generate(context);
    await expect(provider.decrypt(key.encrypted, { tenant: 'globex', table: 'tvm-cache' })).rejects.toMatchObject({
      name: 'EnvelopeOpenError',
      cause: { name: 'InvalidCiphertextException' },
    });
  });

  it.each(['AccessDeniedException', 'KMSInvalidStateException', 'ThrottlingException'])(
    'passes %s on as it is (the item may be fine: the cache degrades, nothing is replaced)',
    async (name) => {
      const sealed = await envelope().seal(bytes('x'), context);
      kms.fail(name);
      const reader = envelope();
      const error = await reader.open(sealed, context).catch((e: unknown) => e);
      expect(error).toMatchObject({ name });
      expect(error).not.toBeInstanceOf(EnvelopeOpenError);
      await expect(envelope().seal(bytes('y'), context)).rejects.toMatchObject({ name });
      kms.fail(undefined);
      expect(text(await reader.open(sealed, context))).toBe('x'); // a failure is not remembered
    },
  );

  it('asks KMS on every call when caching is off', async () => {
    const writer = kmsEnvelope({ keyId: KEY_ARN, client: kms.client(), dataKeyMaxAgeMs: 0 });
    const sealed = await writer.seal(bytes('a'), context);
    await writer.seal(bytes('b'), context);
    await writer.open(sealed, context);
    await writer.open(sealed, context);
    expect(kms.calls).toEqual({ generate: 2, decrypt: 2 });
  });
});

describe('composition', () => {
  it('uses KMS with the configured key in Lambda, the local stand-in without one', async () => {
    const sealed = await cacheEnvelopeFor({ cacheKeyId: KEY_ARN }).seal(bytes('s'), context);
    expect(kms.calls.generate).toBe(1); // the mocked KMS client answered, under KEY_ARN
    expect(text(await envelope().open(sealed, context))).toBe('s');
    await cacheEnvelopeFor({}).seal(bytes('t'), context);
    expect(kms.calls.generate).toBe(1);
  });
});

describe('local envelope', () => {
  it('opens across envelopes of one process, or of processes given the same TVM_LOCAL_CACHE_KEY', async () => {
    const sealed = await localEnvelope({}).seal(bytes('s'), context);
    expect(text(await localEnvelope({}).open(sealed, context))).toBe('s');
    const key = Buffer.alloc(32, 7).toString('base64');
    const shared = await localEnvelope({ TVM_LOCAL_CACHE_KEY: key }).seal(bytes('t'), context);
    expect(text(await localEnvelope({ TVM_LOCAL_CACHE_KEY: key }).open(shared, context))).toBe('t');
    await expect(localEnvelope({}).open(shared, context)).rejects.toBeInstanceOf(EnvelopeOpenError);
    expect(() => localEnvelope({ TVM_LOCAL_CACHE_KEY: 'c2hvcnQ=' })).toThrow(/32 bytes/);
  });

  it('binds values to their context like KMS', async () => {
    const local = new DataKeyEnvelope(new LocalKeyProvider());
    const sealed = await local.seal(bytes('s'), context);
    await expect(new DataKeyEnvelope(new LocalKeyProvider()).open(sealed, context)).rejects.toBeInstanceOf(
      EnvelopeOpenError,
    );
    await expect(local.open(sealed, { ...context, tenant: 'b' })).rejects.toBeInstanceOf(EnvelopeOpenError);
  });
});
