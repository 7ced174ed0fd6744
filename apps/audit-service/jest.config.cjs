module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'audit-service',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
