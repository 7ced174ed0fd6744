module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'persistence (integration)',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/../../tools/jest-infra-setup.cjs',
  testTimeout: 120000,
  maxWorkers: 1,
};
