// Cache hit as deployed, beside the hand-written floor (bench/hit-worker.ts runs both with stdout on /dev/null).
import { fork } from 'node:child_process';
import { join } from 'node:path';

import { lambdaEnv, notes, results, round, workerExecArgv } from './support';

interface HitOutcome {
  hit: { p50: number; p99: number; ops: number };
  hand: { p50: number; p99: number; ops: number };
  deployedLines: { status: number; lines: number; emf: number };
  floorLines: { status: number; lines: number; emf: number };
  error?: string;
}

export async function benchHit(): Promise<void> {
  const child = fork(join(__dirname, 'hit-worker.ts'), [], {
    execArgv: workerExecArgv(),
    env: lambdaEnv(),
    // stdout is /dev/null: every log line and EMF document is really written to a file descriptor.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const outcome = await new Promise<HitOutcome>((resolve) => child.once('message', (m) => resolve(m as HitOutcome)));
  child.kill();
  if (outcome.error) throw new Error(`hit worker: ${outcome.error}`);
  results['hit.p50Us'] = outcome.hit.p50;
  results['hit.p99Us'] = outcome.hit.p99;
  results['hit.opsPerSec'] = outcome.hit.ops;
  results['hit.linesPerHit'] = outcome.deployedLines.lines;
  results['hit.emfPerHit'] = outcome.deployedLines.emf;
  results['hit.floorP50Us'] = outcome.hand.p50;
  results['hit.floorP99Us'] = outcome.hand.p99;
  results['hit.ratioP50'] = round(outcome.hit.p50 / outcome.hand.p50, 2);
  if (outcome.deployedLines.status !== 200)
    notes.push(`hit: the deployed handler answered ${outcome.deployedLines.status}`);
}
