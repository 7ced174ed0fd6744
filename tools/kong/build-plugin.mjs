#!/usr/bin/env node
// Builds the Kong plugin traceo-sliding-window into dist/kong/js-plugins/traceo-sliding-window/, a
// folder kong-js-pluginserver loads from its --plugins-directory (dist/kong/js-plugins/):
//   1. tools/build.mjs compiles kong/js-plugins/traceo-sliding-window/src with the project's swc
//      options to CommonJS, and its @traceo/* libraries (rate-limit) beside it in node_modules/@traceo;
//   2. a package.json whose `main` is index.js (the plugin server require()s each entry of the
//      plugins directory, so the folder itself must resolve to the plugin module);
//   3. the third-party packages the compiled code requires (ioredis, zod and what they depend on),
//      copied from the root node_modules, which package-lock.json pinned, into the folder's own
//      node_modules: the folder runs wherever Node 24 and kong-js-pluginserver are, such as the Kong
//      image (kong/Dockerfile), without an npm install there.
//   node tools/kong/build-plugin.mjs
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const project = 'kong/js-plugins/traceo-sliding-window';
const outDir = join(root, 'dist', project);

const compiled = spawnSync(process.execPath, [join(root, 'tools', 'build.mjs'), project], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(
  join(outDir, 'package.json'),
  `${JSON.stringify(
    {
      name: 'traceo-sliding-window',
      version: rootPackage.version,
      private: true,
      description: 'Kong plugin (kong-js-pluginserver): sliding-window rate limits shared through Redis, libs/rate-limit',
      main: 'index.js',
      engines: rootPackage.engines,
    },
    null,
    2,
  )}\n`,
);

/** Bare package names the compiled JavaScript requires (not Node built-ins, not relative paths). */
function requiredPackages(dir) {
  const found = new Set();
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) {
      for (const name of requiredPackages(full)) found.add(name);
    } else if (entry.endsWith('.js')) {
      for (const [, spec] of readFileSync(full, 'utf8').matchAll(/\brequire\("([^"]+)"\)/g)) {
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const parts = spec.split('/');
        found.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
      }
    }
  }
  return found;
}

/** Where Node would find `name` when required from inside `fromDir` (walking up to the repository root). */
function resolvePackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

// Every package reachable through `dependencies` (and non-optional peers) from what the code requires.
// A package found in the root node_modules is copied whole (its own nested node_modules included);
// one found nested inside another package travels with that package.
const topLevel = new Map();
const seen = new Set();
const pending = [...requiredPackages(outDir)].filter((name) => !name.startsWith('@traceo/')).map((name) => ({ name, from: root }));
while (pending.length > 0) {
  const { name, from } = pending.pop();
  const dir = resolvePackageDir(name, from);
  if (dir === undefined) {
    console.error(`build-plugin: ${name} (required from ${relative(root, from) || '.'}) is not installed`);
    process.exit(1);
  }
  if (seen.has(dir)) continue;
  seen.add(dir);
  if (dir === join(root, 'node_modules', name)) topLevel.set(name, dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const optionalPeers = new Set(
    Object.keys(manifest.peerDependenciesMeta ?? {}).filter((peer) => manifest.peerDependenciesMeta[peer].optional),
  );
  const peers = Object.keys(manifest.peerDependencies ?? {}).filter((peer) => !optionalPeers.has(peer));
  for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...peers]) pending.push({ name: dep, from: dir });
}
for (const [name, dir] of [...topLevel].sort(([a], [b]) => a.localeCompare(b))) {
  cpSync(dir, join(outDir, 'node_modules', name), { recursive: true, dereference: true });
}
const versions = [...topLevel.keys()]
  .sort()
  .map((name) => `${name}@${JSON.parse(readFileSync(join(topLevel.get(name), 'package.json'), 'utf8')).version}`);
console.log(`vendored into ${relative(root, join(outDir, 'node_modules'))}: ${versions.join(', ')}`);
