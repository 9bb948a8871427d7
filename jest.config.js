/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The package test (pack, install, use) takes minutes: `npm run test:package` runs it, CI too.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/package/'],
  // cognito-local's OTP dependencies are ESM-only: ts-jest turns them into CommonJS like our sources.
  transform: {
    '^.+\\.m?[tj]s$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node10', isolatedModules: true } },
    ],
  },
  // oauth2-mock-server (with jose and is-plain-obj) is ESM-only too: the in-process OAuth2 upstream of the tests.
  transformIgnorePatterns: ['/node_modules/(?!(@scure|@noble|@otplib|otplib|oauth2-mock-server|jose|is-plain-obj)/)'],
  // Sources import each other without an extension, except for dynamic import(), which TypeScript's nodenext
  // resolution makes name its `.js` file (lambdas/runtime/compose.ts): Jest reads the TypeScript source instead.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFilesAfterEnv: ['<rootDir>/test/support/setup.ts'],
  // A temporary directory of the run's own (TMPDIR), removed at its end: test/support/temp-root.ts.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  // One worker per core (Jest's default leaves one core to itself: on a 2-core machine the files then ran one at a
  // time, 167 s; with both cores, about 90 s). Most files wait on emulators and child processes, not on the CPU.
  maxWorkers: '100%',
  // A worker whose heap has grown past this after a file is replaced: the CDK and emulator files leave workers at
  // 0.5-0.7 GB of heap (1-1.2 GB RSS), which took the workers more than Jest's 500 ms to tear down at the end
  // ("a worker process has failed to exit gracefully"; no handle was left open) and adds up on small CI machines.
  workerIdleMemoryLimit: '512MB',
};
