// Generates the README's inputs and outputs tables from action.yml and status/action.yml, so they never
// drift from what the actions declare.
//   node scripts/docs.mjs          rewrite README.md between the markers
//   node scripts/docs.mjs --check  exit 1 when README.md is out of date
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = path.join(root, 'README.md');

/** The README's sections, each generated from one action.yml: the marker prefix and the file. */
export const ACTIONS = [
  { prefix: '', file: 'action.yml' },
  { prefix: 'status-', file: path.join('status', 'action.yml') },
];

/**
 * Whether an input must be set. action.yml marks none `required: true` (the runner would then refuse a
 * value from the environment, such as OPENAI_ADMIN_KEY), so what is needed is said here.
 */
const REQUIRED = {
  'admin-api-key': 'yes, or `OPENAI_ADMIN_KEY` (not in a dry run)',
  certificate: 'one of the three',
  'certificate-file': 'one of the three',
  'certificate-id': 'one of the three',
};
const STATUS_REQUIRED = { 'admin-api-key': 'yes, or `OPENAI_ADMIN_KEY`' };

export function renderTables(actionYml, required = REQUIRED) {
  const escape = (text) => String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
  const inputs = Object.entries(actionYml.inputs).map(([name, spec]) => {
    const fallback = spec.default === undefined || spec.default === '' ? '' : `\`${escape(spec.default)}\``;
    return `| \`${name}\` | ${required[name] ?? 'no'} | ${fallback} | ${escape(spec.description)} |`;
  });
  const outputs = Object.entries(actionYml.outputs).map(([name, spec]) => `| \`${name}\` | ${escape(spec.description)} |`);
  return {
    inputs: ['| input | required | default | description |', '|---|---|---|---|', ...inputs].join('\n'),
    outputs: ['| output | description |', '|---|---|', ...outputs].join('\n'),
  };
}

/** The README with fresh tables, formatted by Prettier as `npm run format` would leave it. */
export async function updateReadme(readme, actionYmls = readActionYmls()) {
  let text = readme;
  for (const { prefix, file } of ACTIONS) {
    const tables = renderTables(actionYmls[file], prefix ? STATUS_REQUIRED : REQUIRED);
    for (const kind of ['inputs', 'outputs']) {
      const start = `<!-- ${prefix}${kind}:start (generated from ${file.split(path.sep).join('/')} by npm run docs) -->`;
      const end = `<!-- ${prefix}${kind}:end -->`;
      const from = text.indexOf(start);
      const to = text.indexOf(end);
      if (from < 0 || to < from) throw new Error(`README.md lacks the markers ${start} ... ${end}`);
      text = `${text.slice(0, from + start.length)}\n${tables[kind]}\n${text.slice(to)}`;
    }
  }
  const options = (await prettier.resolveConfig(readmePath)) ?? {};
  return prettier.format(text, { ...options, filepath: readmePath });
}

export function readActionYmls() {
  return Object.fromEntries(ACTIONS.map(({ file }) => [file, parse(fs.readFileSync(path.join(root, file), 'utf8'))]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = fs.readFileSync(readmePath, 'utf8');
  const updated = await updateReadme(readme);
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      console.error('README.md inputs/outputs tables differ from action.yml or status/action.yml: run npm run docs and commit README.md.');
      process.exit(1);
    }
    console.log('README.md tables match action.yml and status/action.yml.');
  } else if (updated !== readme) {
    fs.writeFileSync(readmePath, updated);
    console.log('README.md tables updated from action.yml and status/action.yml.');
  }
}
