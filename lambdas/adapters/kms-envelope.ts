// The KMS key provider of the envelope: `GenerateDataKey` seals, `Decrypt` opens, both under the encryption
// context (which the key policy can require, e.g. `kms:EncryptionContext:table`).
//
// Why an envelope with a cached data key rather than direct `Encrypt`/`Decrypt` of the blob: a session blob
// (ID, access and refresh tokens, claims) is often over the 4 KB `Encrypt` limit, and with a data key cached
// per context for a few minutes, most writes cost no KMS call at all and a reader asks KMS once per data key.
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';

import { awsClientOptions } from './aws-client-options';
import {
  DataKeyEnvelope,
  EnvelopeOpenError,
  type DataKey,
  type DataKeyEnvelopeOptions,
  type DataKeyProvider,
  type EncryptionContext,
  type Envelope,
} from './envelope';

/** KMS errors meaning the encrypted data key can never be unwrapped (tampered, other context, other key). */
const PERMANENT = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** Short timeouts that fire: a slow KMS degrades the shared cache, never the vend. */
export function kmsClient(): KMSClient {
  return new KMSClient({ ...awsClientOptions('kms') });
}

export interface KmsKeyProviderOptions {
  /** Key id, ARN or alias of a symmetric encryption KMS key. */
  readonly keyId: string;
  readonly client?: KMSClient;
}

export class KmsKeyProvider implements DataKeyProvider {
  private readonly client: KMSClient;

  constructor(private readonly options: KmsKeyProviderOptions) {
    this.client = options.client ?? kmsClient();
  }

  async generate(context: EncryptionContext): Promise<DataKey> {
    const output = await this.client.send(
      new GenerateDataKeyCommand({ KeyId: this.options.keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } }),
    );
    if (!output.Plaintext || !output.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key.');
    return { plaintext: output.Plaintext, encrypted: output.CiphertextBlob };
  }

  async decrypt(encrypted: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    try {
      const output = await this.client.send(
        // KeyId pins the key: a blob naming another key fails rather than being decrypted with it.
        new DecryptCommand({ KeyId: this.options.keyId, CiphertextBlob: encrypted, EncryptionContext: { ...context } }),
      );
      if (!output.Plaintext) throw new Error('KMS Decrypt returned no plaintext.');
      return output.Plaintext;
    } catch (error) {
      if (error instanceof Error && PERMANENT.has(error.name)) {
        throw new EnvelopeOpenError(`KMS refused the data key: ${error.name}.`, { cause: error });
      }
      throw error;
    }
  }
}

/** The envelope used in Lambda: data keys from KMS key `keyId`. */
export function kmsEnvelope(options: KmsKeyProviderOptions & DataKeyEnvelopeOptions): Envelope {
  return new DataKeyEnvelope(new KmsKeyProvider(options), options);
}
