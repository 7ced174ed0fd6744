const unit = require('./jest.config.cjs');

module.exports = {
  ...unit,
  displayName: 'kong-plugin-sliding-window (integration)',
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/../../../tools/jest-infra-setup.cjs',
  testTimeout: 60000,
  maxWorkers: 1,
};
