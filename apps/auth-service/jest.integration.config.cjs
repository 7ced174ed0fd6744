module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'auth-service (integration)',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/test/jest-global-setup.cjs',
  testTimeout: 120000,
  maxWorkers: 1,
};
