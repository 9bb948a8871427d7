// KMS GenerateDataKey/Decrypt behind aws-sdk-client-mock, with KMS's own semantics: a data key decrypts only with
// the exact encryption context and key it was made under (else InvalidCiphertextException), and the caller can be
// made to see KMS's real error names (AccessDeniedException, KMSInvalidStateException, ThrottlingException).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import {
  DecryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidStateException,
  KMSServiceException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';

export const KEY_ARN = 'arn:aws:kms:ap-southeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A KMS error as the real service returns it. */
export function kmsError(name: string, message = name): Error {
  if (name === 'InvalidCiphertextException') return new InvalidCiphertextException({ message, $metadata: {} });
  if (name === 'KMSInvalidStateException') return new KMSInvalidStateException({ message, $metadata: {} });
  return new KMSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}

function canonical(context: Record<string, string> | undefined): string {
  return JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

export interface FakeKms {
  /** A client whose calls the mock answers (each "container" may have its own; they share the key). */
  client(): KMSClient;
  readonly calls: { generate: number; decrypt: number };
  /** The next calls fail with this KMS error name (until `fail(undefined)`). */
  fail(name: string | undefined): void;
  restore(): void;
}

/** One KMS key (`KEY_ARN`) emulated with a real AES-256-GCM master key. */
export function fakeKms(options: { latencyMs?: number } = {}): FakeKms {
  const master = randomBytes(32);
  const mock = mockClient(KMSClient);
  const calls = { generate: 0, decrypt: 0 };
  let failure: string | undefined;
  const delay = () =>
    options.latencyMs ? new Promise((resolve) => setTimeout(resolve, options.latencyMs)) : Promise.resolve();

  mock
    .on(GenerateDataKeyCommand)
    .callsFake(async (input: { KeyId?: string; EncryptionContext?: Record<string, string> }) => {
      calls.generate++;
      await delay();
      if (failure) throw kmsError(failure);
      if (input.KeyId !== KEY_ARN) throw kmsError('NotFoundException');
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv);
      cipher.setAAD(Buffer.from(canonical(input.EncryptionContext)));
      const wrapped = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        KeyId: KEY_ARN,
        Plaintext: plaintext,
        CiphertextBlob: Buffer.concat([iv, cipher.getAuthTag(), wrapped]),
      };
    });
  mock
    .on(DecryptCommand)
    .callsFake(
      async (input: { KeyId?: string; CiphertextBlob?: Uint8Array; EncryptionContext?: Record<string, string> }) => {
        calls.decrypt++;
        await delay();
        if (failure) throw kmsError(failure);
        if (input.KeyId !== KEY_ARN) throw kmsError('IncorrectKeyException');
        const blob = Buffer.from(input.CiphertextBlob ?? []);
        try {
          const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12));
          decipher.setAAD(Buffer.from(canonical(input.EncryptionContext)));
          decipher.setAuthTag(blob.subarray(12, 28));
          return { KeyId: KEY_ARN, Plaintext: Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]) };
        } catch {
          throw kmsError('InvalidCiphertextException');
        }
      },
    );
  return {
    client: () => new KMSClient({ region: 'ap-southeast-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    calls,
    fail: (name) => {
      failure = name;
    },
    restore: () => mock.restore(),
  };
}
