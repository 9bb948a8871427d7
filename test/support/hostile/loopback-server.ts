import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a hostile server saw: enough to prove a secret never reached it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/**
 * A scripted answer; `'hang'` accepts the request and never answers (until the server closes). `body` is sent as
 * is when it is a string or bytes (e.g. garbage under `content-encoding: gzip`), as JSON otherwise. `cut` breaks
 * the answer off after the body: `'stall'` never ends it (until the server closes), `'close'` closes the connection.
 */
export type Reply =
  | {
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly body?: unknown;
      readonly cut?: 'stall' | 'close';
    }
  | 'hang';

export interface LoopbackServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An http server on 127.0.0.1 (ephemeral port) that records every request and answers through `route`. */
export async function startLoopbackServer(
  route: (request: RecordedRequest) => Reply | Promise<Reply>,
): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: RecordedRequest = {
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      Promise.resolve(route(recorded))
        .then((reply) => {
          if (reply === 'hang') return;
          const payload =
            reply.body === undefined
              ? ''
              : typeof reply.body === 'string' || reply.body instanceof Uint8Array
                ? reply.body
                : JSON.stringify(reply.body);
          response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
          if (reply.cut === 'stall') response.write(payload);
          else if (reply.cut === 'close') response.write(payload, () => response.socket?.destroy());
          else response.end(payload);
        })
        .catch(() => {
          response.writeHead(500);
          response.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
