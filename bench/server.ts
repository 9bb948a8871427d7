// The local server (npm start's HTTP adapter over the same handler) under load from autocannon in another
// process, so the load generator does not share the server's event loop.
import { spawn } from 'node:child_process';

import { startLocalService } from '../lambdas/local/local-service';
import { notes, results } from './support';

export async function benchServer(): Promise<void> {
  const service = await startLocalService({ port: 0 });
  const write = process.stdout.write.bind(process.stdout);
  try {
    process.stdout.write = (() => true) as typeof process.stdout.write; // the server's own log lines
    await fetch(`${service.url}/v1/tenants/demo/token`);
    const generator = spawn(
      process.execPath,
      [
        require.resolve('autocannon/autocannon.js'),
        '-j',
        '-c',
        '50',
        '-d',
        '10',
        `${service.url}/v1/tenants/demo/token?minTtl=300`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let output = '';
    generator.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve) => generator.once('close', () => resolve()));
    const outcome = JSON.parse(output) as { requests: { average: number }; latency: { p99: number }; non2xx: number };
    results['server.reqPerSec'] = Math.round(outcome.requests.average);
    results['server.p99Ms'] = outcome.latency.p99;
    if (outcome.non2xx) notes.push(`server: ${outcome.non2xx} non-2xx answers`);
  } finally {
    process.stdout.write = write;
    await service.close();
  }
}
