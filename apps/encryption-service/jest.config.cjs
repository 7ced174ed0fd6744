module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'encryption-service',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
