// Brings up the infrastructure, then exports SOFTHSM2_CONF into the real process environment:
// SoftHSM2 reads it with getenv() when the module is loaded, and Jest gives each test file only a
// copy of process.env, so setting it inside a test would not reach the library. Installs Debian's
// chromium for the browser test when it is missing (tools/browser, as tools/infra does its packages).
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const infraSetup = require('../../../tools/jest-infra-setup.cjs');

module.exports = async function globalSetup() {
  await infraSetup();
  execFileSync('bash', [path.join(__dirname, '..', '..', '..', 'tools', 'browser'), 'install'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const env = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', '.infra', 'env.json'), 'utf8'));
  process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
};
