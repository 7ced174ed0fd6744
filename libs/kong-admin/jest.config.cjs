module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'kong-admin',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
