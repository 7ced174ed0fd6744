module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'audit-service (integration)',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/test/jest-global-setup.cjs',
  testTimeout: 120000,
  maxWorkers: 1,
};
