import { createHash } from 'node:crypto';

import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import type { TokenClient } from '../../client/token-client';
import { pendingWindows, stateKey, windowKey, type ExportJob, type ExportWindow } from '../core/export-windows';

/**
 * Runs one export job: for each pending window, get the tenant's headers from the
 * token API, post the GraphQL query with `{from, to}`, and write the result and a
 * manifest to S3. A window already in S3 is skipped, so re-runs write nothing new.
 */

export interface ExportRunnerDeps {
  readonly tokens: Pick<TokenClient, 'headers' | 'getToken'>;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  readonly clock?: { now(): number };
}

export interface WindowResult {
  readonly key: string;
  readonly outcome: 'written' | 'skipped';
  readonly bytes?: number;
}

export class ExportFailedError extends Error {
  constructor(
    message: string,
    readonly window: ExportWindow,
  ) {
    super(message);
    this.name = 'ExportFailedError';
  }
}

function isNotFound(error: unknown): boolean {
  const shape = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return shape.name === 'NotFound' || shape.name === 'NoSuchKey' || shape.$metadata?.httpStatusCode === 404;
}

export class ExportRunner {
  private readonly fetchFn: (url: string, init: RequestInit) => Promise<Response>;
  private readonly clock: { now(): number };

  constructor(private readonly deps: ExportRunnerDeps) {
    this.fetchFn = deps.fetch ?? ((url, init) => fetch(url, init));
    this.clock = deps.clock ?? Date;
  }

  async run(job: ExportJob): Promise<WindowResult[]> {
    const state = await this.readState(job);
    const windows = pendingWindows(this.clock.now(), job.windowMinutes, state, job.maxWindowsPerRun);
    const results: WindowResult[] = [];
    for (const window of windows) {
      results.push(await this.exportWindow(job, window));
      // Progress is saved per window: a failure later on keeps what is done.
      await this.writeState(job, window.to.getTime());
    }
    return results;
  }

  private async exportWindow(job: ExportJob, window: ExportWindow): Promise<WindowResult> {
    const key = windowKey(job, window);
    if (await this.exists(key)) return { key, outcome: 'skipped' };
    const data = await this.query(job, window);
    const body = JSON.stringify({
      tenant: job.tenant,
      job: job.name,
      window: { from: window.from.toISOString(), to: window.to.toISOString() },
      data,
    });
    await this.deps.s3.send(
      new PutObjectCommand({ Bucket: this.deps.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    const manifest = {
      tenant: job.tenant,
      job: job.name,
      window: { from: window.from.toISOString(), to: window.to.toISOString() },
      key,
      bytes: Buffer.byteLength(body),
      sha256: createHash('sha256').update(body).digest('hex'),
      writtenAt: new Date(this.clock.now()).toISOString(),
    };
    await this.deps.s3.send(
      new PutObjectCommand({
        Bucket: this.deps.bucket,
        Key: key.replace(/\.json$/, '.manifest.json'),
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
      }),
    );
    return { key, outcome: 'written', bytes: manifest.bytes };
  }

  /** POST the query; an upstream 401 gets one token renewal and one retry. */
  private async query(job: ExportJob, window: ExportWindow): Promise<unknown> {
    const variables = { from: window.from.toISOString(), to: window.to.toISOString() };
    let headers = await this.deps.tokens.headers(job.tenant, { minTtl: 300 });
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetchFn(job.graphqlUrl, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: job.query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
      if (response.status === 401 && attempt === 0) {
        headers = (await this.deps.tokens.getToken(job.tenant, { minTtl: 300, forceRefresh: true })).headers;
        continue;
      }
      if (!response.ok)
        throw new ExportFailedError(
          `The upstream answered HTTP ${response.status} for ${job.name} ${variables.from}..${variables.to}.`,
          window,
        );
      const payload = (await response.json()) as { data?: unknown; errors?: Array<{ message?: string }> };
      if (payload.errors?.length) {
        throw new ExportFailedError(
          `The upstream returned GraphQL errors for ${job.name}: ${payload.errors.map((e) => e.message).join('; ')}`,
          window,
        );
      }
      return payload.data;
    }
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.deps.s3.send(new HeadObjectCommand({ Bucket: this.deps.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async readState(job: ExportJob): Promise<number | undefined> {
    try {
      const output = await this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.bucket, Key: stateKey(job) }));
      const state = JSON.parse((await output.Body?.transformToString()) ?? '{}') as { lastWindowEnd?: string };
      return state.lastWindowEnd ? Date.parse(state.lastWindowEnd) : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async writeState(job: ExportJob, lastWindowEnd: number): Promise<void> {
    const body = JSON.stringify({
      lastWindowEnd: new Date(lastWindowEnd).toISOString(),
      updatedAt: new Date(this.clock.now()).toISOString(),
    });
    await this.deps.s3.send(
      new PutObjectCommand({
        Bucket: this.deps.bucket,
        Key: stateKey(job),
        Body: body,
        ContentType: 'application/json',
      }),
    );
  }
}
