module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'hsm (integration)',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/test/jest-global-setup.cjs',
  testTimeout: 60000,
  maxWorkers: 1,
};
