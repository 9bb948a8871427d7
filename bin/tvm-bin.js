#!/usr/bin/env node
// `tvm` entry for npm's bin: run the TypeScript CLI through tsx.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
require('tsx/cjs');
require('./tvm.ts').runFromProcess();
