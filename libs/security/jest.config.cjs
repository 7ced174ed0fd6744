module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'security',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
