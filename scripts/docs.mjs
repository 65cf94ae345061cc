// Generates the README's inputs and outputs tables from action.yml, so they never drift.
//   node scripts/docs.mjs          rewrite README.md between the markers
//   node scripts/docs.mjs --check  exit 1 when README.md is out of date
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = path.join(root, 'README.md');

export function renderTables(actionYml) {
  const escape = (text) => String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
  const inputs = Object.entries(actionYml.inputs).map(([name, spec]) => {
    const fallback = spec.default === undefined || spec.default === '' ? '' : `\`${escape(spec.default)}\``;
    return `| \`${name}\` | ${fallback} | ${escape(spec.description)} |`;
  });
  const outputs = Object.entries(actionYml.outputs).map(([name, spec]) => `| \`${name}\` | ${escape(spec.description)} |`);
  return {
    inputs: ['| input | default | description |', '|---|---|---|', ...inputs].join('\n'),
    outputs: ['| output | description |', '|---|---|', ...outputs].join('\n'),
  };
}

/** The README with fresh tables, formatted by Prettier as `npm run format` would leave it. */
export async function updateReadme(readme, actionYml) {
  const text = replaceTables(readme, actionYml);
  const options = (await prettier.resolveConfig(readmePath)) ?? {};
  return prettier.format(text, { ...options, filepath: readmePath });
}

function replaceTables(readme, actionYml) {
  const tables = renderTables(actionYml);
  let text = readme;
  for (const kind of ['inputs', 'outputs']) {
    const start = `<!-- ${kind}:start (generated from action.yml by npm run docs) -->`;
    const end = `<!-- ${kind}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md lacks the ${kind} markers`);
    text = `${text.slice(0, from + start.length)}\n${tables[kind]}\n${text.slice(to)}`;
  }
  return text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const actionYml = parse(fs.readFileSync(path.join(root, 'action.yml'), 'utf8'));
  const readme = fs.readFileSync(readmePath, 'utf8');
  const updated = await updateReadme(readme, actionYml);
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      console.error('README.md inputs/outputs tables differ from action.yml: run npm run docs and commit README.md.');
      process.exit(1);
    }
    console.log('README.md tables match action.yml.');
  } else if (updated !== readme) {
    fs.writeFileSync(readmePath, updated);
    console.log('README.md tables updated from action.yml.');
  }
}
