// decK for offline validation, installed into .cache/kong/ (git-ignored) on first use.
//
// The Go module proxy refuses github.com/kong/* here, and no npm/PyPI package ships decK; Debian
// packages decK (bookworm, trixie and sid all carry 1.4.0). So the pinned Debian build is fetched with
// `apt-get download` (no root needed for the download itself, no system install), its SHA-256
// checked, and unpacked with `dpkg-deb -x`. When apt has no package lists yet (a fresh machine), it
// runs `apt-get update` once, which needs root, as tools/infra already does.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DECK_VERSION = '1.4.0';
const DEB_VERSION = '1.4.0-1+b12';
const DEB_SHA256 = '2123ea63ea91b4463d5aa0f4552f3ea09f6601ecb6ac578780494f5cce5e15b9';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = join(root, '.cache', 'kong');
const install = join(cache, `deck-${DEB_VERSION}`);
export const DECK_BIN = join(install, 'usr', 'bin', 'deck');

const run = (command, args, options = {}) => spawnSync(command, args, { encoding: 'utf8', ...options });

/** Path of the pinned deck binary, installing it first if needed. Throws with the reason otherwise. */
export function ensureDeck(log = () => {}) {
  if (existsSync(DECK_BIN)) return DECK_BIN;
  if (process.arch !== 'x64') throw new Error(`decK is installed from Debian's amd64 package; this machine is ${process.arch}`);
  mkdirSync(cache, { recursive: true });
  const download = join(cache, 'download');
  rmSync(download, { recursive: true, force: true });
  mkdirSync(download);
  const fetch = () => run('apt-get', ['download', `deck=${DEB_VERSION}`], { cwd: download });
  log(`installing decK ${DEB_VERSION} (Debian package) into ${install}`);
  let result = fetch();
  if (result.status !== 0) {
    log('apt-get download failed; refreshing the package lists (apt-get update) and retrying');
    const update = run('apt-get', ['update', '-qq']);
    if (update.status !== 0) throw new Error(`apt-get update failed (root needed):\n${update.stderr}`);
    result = fetch();
  }
  const deb = readdirSync(download).find((f) => f.endsWith('.deb'));
  if (result.status !== 0 || !deb) throw new Error(`apt-get download deck=${DEB_VERSION} failed:\n${result.stderr}`);
  const digest = createHash('sha256')
    .update(readFileSync(join(download, deb)))
    .digest('hex');
  if (digest !== DEB_SHA256) throw new Error(`${deb}: SHA-256 ${digest}, expected ${DEB_SHA256}`);
  const unpacked = join(download, 'root');
  const extract = run('dpkg-deb', ['-x', join(download, deb), unpacked]);
  if (extract.status !== 0) throw new Error(`dpkg-deb -x failed:\n${extract.stderr}`);
  rmSync(install, { recursive: true, force: true });
  renameSync(unpacked, install);
  rmSync(download, { recursive: true, force: true });
  const version = run(DECK_BIN, ['version']);
  if (!version.stdout.includes(`decK ${DECK_VERSION}`))
    throw new Error(`unexpected deck version output: ${version.stdout}${version.stderr}`);
  return DECK_BIN;
}
