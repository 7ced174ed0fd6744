module.exports = {
  ...require('../jest.preset.cjs'),
  displayName: 'platform-e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/../tools/jest-infra-setup.cjs',
  testTimeout: 180000,
  maxWorkers: 1,
};
