// Shared Jest configuration. Our TypeScript is compiled to CommonJS by swc; packages that ship
// only ES modules (NestJS 12, oidc-provider, openid-client, jose, @noble/*) are transformed to
// CommonJS by the same swc transform, because Jest's module runtime does not implement require(esm).
const path = require('node:path');
const swc = require('./tools/swc-options.cjs');

const esmOnlyPackages = ['@nestjs', 'oidc-provider', 'openid-client', 'oauth4webapi', 'jose', '@noble', 'nestjs-pino'];

module.exports = {
  testEnvironment: 'node',
  reporters: ['default', path.join(__dirname, 'tools/jest-summary-reporter.cjs')],
  transform: {
    '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', { ...swc, swcrc: false, sourceMaps: 'inline' }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  moduleNameMapper: {
    '^@traceo/([a-z-]+)$': path.join(__dirname, 'libs/$1/src/index.ts'),
    // Test-only: the Wycheproof vector loader (reads ../shared/test-vectors in place), for specs outside libs/crypto.
    '^@traceo/crypto/wycheproof$': path.join(__dirname, 'libs/crypto/test/wycheproof.ts'),
  },
};
