// Jest globalSetup for integration tests: brings up the real infrastructure (idempotent, fast when
// it is already running) so `jest -c .../jest.integration.config.cjs` works on its own.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  if (process.env.TRACEO_INFRA_READY === '1') return;
  execFileSync('bash', [path.join(__dirname, 'infra'), 'up'], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.env.TRACEO_INFRA_READY = '1';
};
