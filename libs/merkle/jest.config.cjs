module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'merkle',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
