#!/usr/bin/env node
// Validates the gateway configuration offline: decK, Kong 3.x rules, the bundled plugins' configs
// against their Kong 3.9 schemas (kong/plugins/bundled/) and the traceo-sliding-window plugin schema
// (see ./kong-config.mjs). Installs the pinned decK into .cache/kong/ when missing.
//
//   node tools/kong/validate.mjs [file.yml:oss|enterprise ...]     exit 0 = valid, 1 = problems
//
// Without arguments it checks kong/kong.yml (oss) and kong/kong-enterprise.yml (enterprise).
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeck } from './deck.mjs';
import { checkKongConfig, compilePluginSchema, deckValidate, loadKongFile, serviceBodyLimits } from './kong-config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_TARGETS = [
  { file: join(root, 'kong/kong.yml'), edition: 'oss' },
  { file: join(root, 'kong/kong-enterprise.yml'), edition: 'enterprise' },
];

/** Validates each target; returns one report per file ({ file, ok, lines }). */
export function validate(targets = DEFAULT_TARGETS, log = () => {}) {
  const deck = ensureDeck(log);
  const validatePluginConfig = compilePluginSchema(join(root, 'kong/plugins/traceo-sliding-window.schema.json'));
  const bodyLimits = serviceBodyLimits(root);
  return targets.map(({ file, edition }) => {
    const lines = [];
    let doc;
    try {
      doc = loadKongFile(file);
    } catch (error) {
      return { file, ok: false, lines: [`YAML: ${error.message}`] };
    }
    const deckResult = deckValidate(deck, file, doc);
    lines.push(
      `deck validate${deckResult.stripped ? ' (copy without consumer groups, which decK 1.4 predates)' : ''}: ${deckResult.ok ? 'ok' : 'FAILED'}`,
    );
    if (!deckResult.ok) lines.push(...deckResult.output.split('\n').map((l) => `  ${l}`));
    const problems = checkKongConfig(doc, { edition, validatePluginConfig, bodyLimits });
    lines.push(
      `Kong 3.x rules, bundled plugin schemas (3.9) and ${edition === 'oss' ? 'the traceo-sliding-window schema' : 'consumer groups'}: ${problems.length === 0 ? 'ok' : 'FAILED'}`,
    );
    lines.push(...problems.map((p) => `  - ${p}`));
    return { file, ok: deckResult.ok && problems.length === 0, lines };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const targets =
    process.argv.length > 2
      ? process.argv.slice(2).map((arg) => {
          const [file, edition = 'oss'] = arg.split(':');
          return { file, edition };
        })
      : DEFAULT_TARGETS;
  const log = (line) => console.log(`kong-validate: ${line}`);
  let reports;
  try {
    reports = validate(targets, log);
  } catch (error) {
    console.error(`kong-validate: ${error.message}`);
    process.exit(1);
  }
  for (const report of reports) {
    console.log(`${relative(root, report.file) || report.file}: ${report.ok ? 'valid' : 'INVALID'}`);
    for (const line of report.lines) console.log(`  ${line}`);
  }
  process.exit(reports.every((r) => r.ok) ? 0 : 1);
}
