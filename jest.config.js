/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // esbuild strips types in milliseconds; `npm run typecheck` is where types are checked.
  transform: { '^.+\\.ts$': '<rootDir>/scripts/jest-esbuild.js' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
  // Most tests wait on CCC's one-call-per-second limit rather than the CPU.
  maxWorkers: 4,
  // The CAM policies are checked against the actions the whole run really used (see the files).
  globalSetup: '<rootDir>/test/setup/actions-setup.ts',
  globalTeardown: '<rootDir>/test/setup/actions-teardown.ts',
};
