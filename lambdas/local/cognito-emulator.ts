import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createServer } from 'cognito-local';
import { DefaultConfig, type Config } from 'cognito-local/lib/server/config';
import { Router } from 'cognito-local/lib/server/Router';
import type { Services } from 'cognito-local/lib/services';
import { CognitoServiceFactoryImpl } from 'cognito-local/lib/services/cognitoService';
import { CryptoService } from 'cognito-local/lib/services/crypto';
import type { DataStore } from 'cognito-local/lib/services/dataStore/dataStore';
import type { DataStoreFactory } from 'cognito-local/lib/services/dataStore/factory';
import { LambdaService } from 'cognito-local/lib/services/lambda';
import { MessageDeliveryService } from 'cognito-local/lib/services/messageDelivery/messageDelivery';
import { MessagesService } from 'cognito-local/lib/services/messages';
import { otp } from 'cognito-local/lib/services/otp';
import { JwtTokenGenerator } from 'cognito-local/lib/services/tokenGenerator';
import { TriggersService } from 'cognito-local/lib/services/triggers';
import { UserPoolServiceFactoryImpl } from 'cognito-local/lib/services/userPoolService';
import pino from 'pino';

import { makeTempDir, removeTempDir } from './temp-dirs';

// cognito-local, the Cognito emulator, started in this process on an ephemeral
// port with its data in memory. Counts the requests it receives per operation
// so tests can assert how often the upstream was called.

type Path = string | string[];

/**
 * Deep copy that rebuilds Dates with this realm's Date: cognito-local serialises with
 * `instanceof Date`, which structuredClone's Dates fail inside test sandboxes (vm contexts).
 */
function copy<T>(value: T): T {
  if (Object.prototype.toString.call(value) === '[object Date]')
    return new Date((value as unknown as Date).getTime()) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => copy(item)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copy(item)])) as T;
  }
  return value;
}

/** In-memory replacement for cognito-local's file-backed StormDB store; values are copied on the way in and out, like a round trip through its file. */
class MemoryDataStore implements DataStore {
  constructor(private root: Record<string, unknown>) {}

  private walk(key: Path): { parent: Record<string, unknown> | undefined; last: string } {
    const parts = Array.isArray(key) ? key : [key];
    let node: unknown = this.root;
    for (const part of parts.slice(0, -1)) {
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
    }
    return {
      parent: typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : undefined,
      last: parts[parts.length - 1] ?? '',
    };
  }

  async delete(_ctx: unknown, key: Path): Promise<void> {
    const { parent, last } = this.walk(key);
    if (parent) delete parent[last];
  }

  async get<T>(_ctx: unknown, key: Path, defaultValue?: T): Promise<T | null> {
    const { parent, last } = this.walk(key);
    const value = parent?.[last];
    return value === undefined ? (defaultValue ?? null) : (copy(value) as T);
  }

  async getRoot<T>(): Promise<T | null> {
    return copy(this.root) as T;
  }

  async set<T>(_ctx: unknown, key: Path, value: T): Promise<void> {
    const parts = Array.isArray(key) ? key : [key];
    let node = this.root;
    for (const part of parts.slice(0, -1)) {
      if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] ?? ''] = copy(value);
  }
}

class MemoryDataStoreFactory implements DataStoreFactory {
  async create(_ctx: unknown, _id: string, defaults: object): Promise<DataStore> {
    return new MemoryDataStore(copy(defaults) as Record<string, unknown>);
  }
}

export interface CognitoEmulator {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Requests received, by operation (e.g. `InitiateAuth`). */
  readonly requests: Map<string, number>;
  /** InitiateAuth requests by AuthFlow (`USER_PASSWORD_AUTH`, `REFRESH_TOKEN_AUTH`). */
  readonly authFlows: Map<string, number>;
  count(operation: string): number;
  resetCounts(): void;
  close(): Promise<void>;
}

export interface CognitoEmulatorOptions {
  /** The emulator's notion of now; share it with the vendor to move time in tests. */
  readonly clock?: { now(): number };
  readonly port?: number;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startCognitoEmulator(options: CognitoEmulatorOptions = {}): Promise<CognitoEmulator> {
  const logger = pino({ level: 'silent' });
  const ctx = { logger };
  const clock = { get: () => new Date((options.clock ?? Date).now()) };
  const dataDirectory = makeTempDir('tvm-cognito-');
  const config: Config = {
    ...DefaultConfig,
    TokenConfig: { IssuerDomain: 'http://127.0.0.1' },
    ServerConfig: { hostname: '127.0.0.1', port: 0, development: false, https: false },
  };
  const dataStoreFactory = new MemoryDataStoreFactory();
  const cognito = await new CognitoServiceFactoryImpl(
    dataDirectory,
    dataStoreFactory,
    new UserPoolServiceFactoryImpl(clock, dataStoreFactory),
  ).create(ctx, config.UserPoolDefaults);
  // No Lambda triggers are configured, so the Lambda client is never called.
  const triggers = new TriggersService(
    clock,
    cognito,
    new LambdaService(config.TriggerFunctions, {} as never),
    new CryptoService(config.KMSConfig),
  );
  const services: Services = {
    clock,
    cognito,
    config,
    messages: new MessagesService(
      triggers,
      new MessageDeliveryService({ sendEmail: async () => undefined, sendSms: async () => undefined } as never),
    ),
    otp,
    tokenGenerator: new JwtTokenGenerator(clock, triggers, config.TokenConfig),
    triggers,
  };
  const app = createServer(Router(services), logger, config.ServerConfig, services).application as (
    req: IncomingMessage,
    res: unknown,
  ) => void;

  const requests = new Map<string, number>();
  const authFlows = new Map<string, number>();
  const server: Server = createHttpServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '').split('.')[1];
    if (req.method !== 'POST' || !target) {
      app(req, res);
      return;
    }
    requests.set(target, (requests.get(target) ?? 0) + 1);
    // Read the body here to count auth flows; body-parser skips a request whose body was already read.
    void readBody(req).then((raw) => {
      let body: unknown = {};
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = {};
      }
      if (target === 'InitiateAuth') {
        const flow = String((body as { AuthFlow?: unknown }).AuthFlow);
        authFlows.set(flow, (authFlows.get(flow) ?? 0) + 1);
      }
      Object.assign(req, { body });
      app(req, res);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    removeTempDir(dataDirectory);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  // Tokens name the issuer as <IssuerDomain>/<userPoolId>: point it at the real port.
  config.TokenConfig.IssuerDomain = endpoint;

  return {
    endpoint,
    requests,
    authFlows,
    count: (operation) => requests.get(operation) ?? 0,
    resetCounts: () => {
      requests.clear();
      authFlows.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        removeTempDir(dataDirectory);
      }),
  };
}
