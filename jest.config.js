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
  testTimeout: 30000,
};
