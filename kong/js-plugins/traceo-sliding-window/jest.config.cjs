const preset = require('../../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'kong-plugin-sliding-window',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    // kong-pdk's plugin_test.js requires node-fetch (a devDependency of kong-pdk, so not installed
    // with it) for its Headers class only; Node 24 has that class built in.
    '^node-fetch$': '<rootDir>/test/node-fetch-headers.cjs',
  },
};
