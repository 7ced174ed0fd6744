#!/usr/bin/env node
// Builds one app into dist/apps/<name>: its sources compiled by swc to CommonJS, plus every
// @traceo/* library it imports (transitively) under dist/apps/<name>/node_modules/@traceo/<lib>,
// so plain Node resolution finds them and third-party packages resolve from the root node_modules.
import { transformFile } from '@swc/core';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const swcOptions = createRequire(import.meta.url)('./swc-options.cjs');
const projectRoot = process.argv[2];
if (!projectRoot || !existsSync(join(root, projectRoot, 'src'))) {
  console.error('usage: node tools/build.mjs apps/<name>');
  process.exit(2);
}
const isTest = (file) => /\.(spec|integration-spec)\.ts$/.test(file);

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return (full.endsWith('.ts') && !isTest(full)) || full.endsWith('.json') ? [full] : [];
  });
}

function librariesImportedBy(files) {
  const found = new Set();
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/from '@traceo\/([a-z-]+)'/g)) found.add(match[1]);
  }
  return found;
}

async function compile(srcDir, outDir) {
  const files = sourceFiles(srcDir);
  for (const file of files) {
    const target = join(outDir, relative(srcDir, file));
    mkdirSync(dirname(target), { recursive: true });
    if (file.endsWith('.json')) {
      cpSync(file, target);
      continue;
    }
    const { code, map } = await transformFile(file, { ...swcOptions, swcrc: false, filename: file, sourceMaps: true });
    const jsTarget = target.replace(/\.ts$/, '.js');
    writeFileSync(jsTarget, `${code}\n//# sourceMappingURL=${jsTarget.split('/').pop()}.map\n`);
    if (map) writeFileSync(`${jsTarget}.map`, map);
  }
  return files;
}

const outDir = join(root, 'dist', projectRoot);
rmSync(outDir, { recursive: true, force: true });
const pending = [...librariesImportedBy(await compile(join(root, projectRoot, 'src'), outDir))];
const built = new Set();
while (pending.length > 0) {
  const lib = pending.pop();
  if (built.has(lib)) continue;
  built.add(lib);
  const libOut = join(outDir, 'node_modules', '@traceo', lib);
  const files = await compile(join(root, 'libs', lib, 'src'), libOut);
  writeFileSync(join(libOut, 'package.json'), JSON.stringify({ name: `@traceo/${lib}`, private: true, main: 'index.js' }, null, 2));
  pending.push(...librariesImportedBy(files));
}
console.log(`built ${projectRoot} -> ${relative(root, outDir)} (libraries: ${[...built].sort().join(', ') || 'none'})`);
