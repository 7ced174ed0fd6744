module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'rate-limit (integration)',
  rootDir: __dirname,
  testMatch: ['<rootDir>/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/../../tools/jest-infra-setup.cjs',
  testTimeout: 120000,
  maxWorkers: 1,
};
