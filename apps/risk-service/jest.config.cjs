module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'risk-service',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
