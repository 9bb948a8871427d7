// Loopback stand-ins for the AWS services the benchmarks and the deployed-bundle test need beyond dynalite and
// cognito-local: Secrets Manager (GetSecretValue) and KMS (GenerateDataKey, Decrypt) over JSON 1.1.
// The KMS stand-in behaves like KMS where it matters here: a fresh data key per GenerateDataKey, a ciphertext
// that only Decrypt with the same key id and the same encryption context opens (else InvalidCiphertextException),
// and every call counted. It answers at once; real KMS adds a few milliseconds per call.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Emulator {
  readonly endpoint: string;
  readonly calls: Map<string, number>;
  close(): Promise<void>;
}

function serve(answer: (target: string, body: Record<string, unknown>) => [number, unknown]): Promise<Emulator> {
  const calls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      calls.set(target, (calls.get(target) ?? 0) + 1);
      const [status, body] = answer(
        target,
        JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>,
      );
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        calls,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

/** Secrets Manager: `<prefix>/<tenant>` -> the tenant's secret JSON. */
export function startSecretsManager(secrets: Record<string, unknown>): Promise<Emulator> {
  return serve((target, body) => {
    const secret = secrets[String(body.SecretId)];
    if (target !== 'GetSecretValue' || secret === undefined)
      return [
        400,
        { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
      ];
    return [
      200,
      {
        ARN: `arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:${String(body.SecretId)}`,
        Name: body.SecretId,
        VersionId: 'v1',
        SecretString: JSON.stringify(secret),
        VersionStages: ['AWSCURRENT'],
      },
    ];
  });
}

export function startKms(): Promise<Emulator> {
  const context = (body: Record<string, unknown>) => JSON.stringify(body.EncryptionContext ?? {});
  return serve((target, body) => {
    if (target === 'GenerateDataKey') {
      const plaintext = randomBytes(32).toString('base64');
      const blob = Buffer.from(JSON.stringify({ k: body.KeyId, p: plaintext, c: context(body) })).toString('base64');
      return [200, { KeyId: body.KeyId, Plaintext: plaintext, CiphertextBlob: blob }];
    }
    if (target === 'Decrypt') {
      try {
        const sealed = JSON.parse(Buffer.from(String(body.CiphertextBlob), 'base64').toString()) as Record<
          string,
          string
        >;
        if (sealed.c !== context(body) || (body.KeyId && sealed.k !== body.KeyId)) throw new Error('mismatch');
        return [200, { KeyId: sealed.k, Plaintext: sealed.p, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }];
      } catch {
        return [400, { __type: 'InvalidCiphertextException', message: '' }];
      }
    }
    return [400, { __type: 'UnsupportedOperationException', message: target }];
  });
}
