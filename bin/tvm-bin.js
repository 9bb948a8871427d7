#!/usr/bin/env node
// `tvm` entry for npm's bin. The installed package runs the compiled JavaScript in dist/; a development
// checkout (where bin/tvm.ts exists) runs the TypeScript sources through tsx so edits apply at once.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// Set before any AWS SDK loads: the SDK's Node.js version notice and cognito-local's SDK v2 notice
// would otherwise be printed on every command. The README says which Node.js versions are supported.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';

const source = join(__dirname, 'tvm.ts');
if (existsSync(source)) {
  // Both of tsx's hooks: the sources load their sign-in code with a dynamic import() (lambdas/runtime/compose.ts).
  import('tsx/esm/api')
    .then(({ register }) => {
      register();
      require('tsx/cjs');
      require(source).runFromProcess();
    })
    .catch((error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
} else {
  require(join(__dirname, '..', 'dist', 'bin', 'tvm.js')).runFromProcess();
}
