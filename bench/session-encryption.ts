// `npx tsx bench/session-encryption.ts`: what sealing session items with KMS adds to a miss (the shared-cache
// write) and to an L2 adoption (the shared-cache read), against the same adapter on dynalite with a no-op envelope.
// KMS is simulated: the local AES-GCM key provider behind a fixed delay per call (BENCH_KMS_MS, default 5 ms, a
// typical in-region KMS round trip), so the figures are the added CPU plus that many KMS round trips. Nothing here
// asserts a time; it prints medians and KMS call counts.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { DynamoDbSessionCache } from '../lambdas/adapters/dynamodb-cache';
import {
  DataKeyEnvelope,
  LocalKeyProvider,
  type DataKeyProvider,
  type EncryptionContext,
  type Envelope,
} from '../lambdas/adapters/envelope';
import { SessionItemCodec } from '../lambdas/adapters/session-item';
import type { Session } from '../lambdas/core/ports';
import { startLocalDynamo } from '../lambdas/local/dynalite';

const KMS_MS = Number(process.env.BENCH_KMS_MS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);

/** A Cognito-sized session: ID and access tokens of about 1 KB, a 1.8 KB refresh token, a few claims. */
function session(tenantId: string): Session {
  const jwt = (bytes: number) => `eyJ${randomBytes(bytes).toString('base64url')}`;
  const now = Math.floor(Date.now() / 1000);
  return {
    tenantId,
    provider: 'cognito',
    secretVersion: 'v1',
    tokens: { idToken: jwt(800), accessToken: jwt(750) },
    refreshToken: jwt(1350),
    claims: { sub: 'user', 'custom:companyId': 'acme-co', 'custom:teamId': 'team-1' },
    expiresAt: now + 3600,
    issuedAt: now,
  };
}

const noEnvelope: Envelope = { seal: async (p) => p, open: async (s) => s };

class SlowKms implements DataKeyProvider {
  calls = 0;
  private readonly inner = new LocalKeyProvider(Buffer.alloc(32, 1));
  private async delay() {
    this.calls++;
    await new Promise((resolve) => setTimeout(resolve, KMS_MS));
  }
  async generate(context: EncryptionContext) {
    await this.delay();
    return this.inner.generate(context);
  }
  async decrypt(encrypted: Uint8Array, context: EncryptionContext) {
    await this.delay();
    return this.inner.decrypt(encrypted, context);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const dynamo = await startLocalDynamo('tvm-bench-enc');
  const client = dynamo.client();
  const table = (envelope: Envelope) => new DynamoDbSessionCache({ tableName: dynamo.tableName, client, envelope });
  interface Variant {
    readonly label: string;
    readonly kms?: SlowKms;
    readonly run: (i: number) => Promise<unknown>;
    readonly times: number[];
    calls: number;
  }
  const variants: Variant[] = [];
  const add = (label: string, kms: SlowKms | undefined, run: (i: number) => Promise<unknown>) =>
    variants.push({ label, run, times: [], calls: 0, ...(kms ? { kms } : {}) });

  // Miss: the vendor writes a new session (putIfUnchanged on an empty key).
  const plain = table(noEnvelope);
  add('miss write, no encryption', undefined, (i) => plain.putIfUnchanged(session(`p${i}`), undefined));
  const coldKms = new SlowKms();
  // A new data key for every write: what the first write per tenant in a container (or per 5 minutes) pays.
  const coldWriter = table(new DataKeyEnvelope(coldKms, { dataKeyMaxAgeMs: 0 }));
  add('miss write, KMS, new data key', coldKms, (i) => coldWriter.putIfUnchanged(session(`c${i}`), undefined));
  const warmKms = new SlowKms();
  const warmEnvelope = new DataKeyEnvelope(warmKms);
  const warmWriter = table(warmEnvelope);
  // Tenants whose data key this container already holds (written within the last 5 minutes): no KMS call.
  for (let i = -5; i < ROUNDS; i++) {
    await warmEnvelope.seal(Buffer.from('x'), { tenant: `w${i}`, table: dynamo.tableName });
  }
  add('miss write, KMS, cached data key', warmKms, (i) => warmWriter.putIfUnchanged(session(`w${i}`), undefined));

  // L2 adoption: another container reads the session item.
  await plain.putIfUnchanged(session('adopt-plain'), undefined);
  add('L2 read, no encryption', undefined, () => plain.get('adopt-plain'));
  await table(new DataKeyEnvelope(new SlowKms())).putIfUnchanged(session('adopt'), undefined);
  const readerKms = new SlowKms();
  // A container that has not seen this data key yet (the usual case for an adoption): one Decrypt.
  add('L2 read, KMS, data key not yet seen', readerKms, () => table(new DataKeyEnvelope(readerKms)).get('adopt'));
  const seenKms = new SlowKms();
  const seenReader = table(new DataKeyEnvelope(seenKms));
  add('L2 read, KMS, data key seen before', seenKms, () => seenReader.get('adopt'));

  // Interleaved rounds, so that the machine's load drifts alike for every variant.
  for (let i = -5; i < ROUNDS; i++) {
    for (const variant of variants) {
      const callsBefore = variant.kms?.calls ?? 0;
      const start = performance.now();
      await variant.run(i);
      if (i < 0) continue; // warm-up (JIT, connections)
      variant.times.push(performance.now() - start);
      variant.calls += (variant.kms?.calls ?? 0) - callsBefore;
    }
  }
  const rows = variants.map((v) => [v.label, median(v.times), v.calls / ROUNDS] as const);

  // CPU only: seal + open of one session blob with a cached data key, no I/O.
  const cpu = new DataKeyEnvelope(new LocalKeyProvider());
  const blob = Buffer.from(JSON.stringify(session('cpu')));
  const context = { tenant: 'cpu', table: 'bench' };
  const sealed = await cpu.seal(blob, context);
  const cpuTimes: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const start = performance.now();
    await cpu.open(await cpu.seal(blob, context), context);
    cpuTimes.push(performance.now() - start);
  }

  // What the item mapping adds by itself (no DynamoDB): seal on write, open on read, with and without a KMS call.
  const codecRows: Array<[string, number]> = [];
  const timeCodec = async (label: string, op: (i: number) => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = -20; i < ROUNDS; i++) {
      const start = performance.now();
      await op(i);
      if (i >= 0) times.push(performance.now() - start);
    }
    codecRows.push([label, median(times)]);
  };
  const sample = session('codec');
  const cachedCodec = new SessionItemCodec(new DataKeyEnvelope(new LocalKeyProvider()), 'bench');
  await timeCodec('seal (write), cached data key', () => cachedCodec.attributes(sample));
  const item = await cachedCodec.attributes(sample);
  await timeCodec('open (read), data key seen before', () => cachedCodec.session('codec', item));
  const kmsCodecKms = new SlowKms();
  const kmsCodec = new SessionItemCodec(new DataKeyEnvelope(kmsCodecKms, { dataKeyMaxAgeMs: 0 }), 'bench');
  const kmsItem = await kmsCodec.attributes(sample);
  await timeCodec('seal (write), new data key (GenerateDataKey)', () => kmsCodec.attributes(sample));
  await timeCodec('open (read), data key not yet seen (Decrypt)', () => kmsCodec.session('codec', kmsItem));

  console.log(`Item mapping alone, medians of ${ROUNDS} (KMS simulated at ${KMS_MS} ms per call)\n`);
  console.log('| operation | median ms |\n|---|---|');
  for (const [label, ms] of codecRows) console.log(`| ${label} | ${ms.toFixed(3)} |`);
  console.log('');
  console.log(`KMS simulated at ${KMS_MS} ms per call; medians of ${ROUNDS} (dynalite, in-process)\n`);
  console.log('| operation | median ms | KMS calls per op |\n|---|---|---|');
  for (const [label, ms, calls] of rows) console.log(`| ${label} | ${ms.toFixed(2)} | ${calls.toFixed(2)} |`);
  console.log(
    `\nCPU: seal + open of a ${blob.length}-byte session (${sealed.length} bytes sealed), cached data key: ` +
      `median ${(median(cpuTimes) * 1000).toFixed(1)} µs`,
  );
  client.destroy();
  await dynamo.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
