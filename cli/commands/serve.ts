import { Command } from 'commander';

import type { CliContext } from '../context';

/** `tvm serve`: local mode, the same as `npm start`. */
export function serveCommand(_ctx: CliContext): Command {
  return new Command('serve')
    .description('run the service locally (same as npm start)')
    .addHelpText(
      'after',
      `
Serves on 127.0.0.1:$PORT (default 8787) with embedded upstreams (tenants demo and demo-rest),
or with the tenants of TVM_TENANTS_FILE. TVM_LOCAL_SHARED_CACHE=true adds an in-process DynamoDB.
Stops on Ctrl-C or SIGTERM.`,
    )
    .action(async () => {
      // Loaded on demand: local mode pulls in the emulators, which other commands do not need.
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const local = require('../../lambdas/local/start') as typeof import('../../lambdas/local/start');
        await local.serve();
      } catch (error) {
        const missing = /Cannot find module '([^']+)'/.exec(error instanceof Error ? error.message : '')?.[1];
        if (!missing || missing.startsWith('.') || missing.startsWith('/')) throw error;
        // The installed package ships no emulators (cognito-local, dynalite: development dependencies).
        throw new Error(
          `tvm serve needs ${missing}, a development dependency of token-vending-machine. Run local mode from a clone ` +
            'of the repository (npm install, then npm start or npx tvm serve).',
        );
      }
    });
}
