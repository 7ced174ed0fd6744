module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'compliance-service',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
