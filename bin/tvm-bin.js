#!/usr/bin/env node
// `tvm` entry for npm's bin: run the TypeScript CLI through tsx.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
require('tsx/cjs');
const { main } = require('./tvm.ts');

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
  env: process.env,
}).then((code) => {
  // serve keeps running until Ctrl-C; every other command ends here.
  process.exitCode = code;
});
