// npm run build: bundles each action's entry with @vercel/ncc into dist/, then writes dist/licenses.txt.
//   src/index.ts        -> dist/index.js        (action.yml: upload, activate, rotate)
//   src/status/index.ts -> dist/status/index.js (status/action.yml: read-only renewal status)
// ncc writes ES modules (package.json is "type": "module", and ncc adds dist/package.json saying so), puts
// what only a dynamic import() loads into a chunk of its own (Octokit for the comment; undici, which the
// proxy or client-certificate path imports dynamically, stays in the entry because @actions/core's http
// client imports the same copy statically), and adds no source-map registration (no --source-map). It only
// transpiles (--transpile-only, with src/tsconfig.json): type-checking is `npm run typecheck`, which CI runs
// before the tests; checking types again in each of the two ncc processes made the build two to three times
// slower, for the same bytes. ncc never deletes stale files, so dist/ is emptied first; its cache is off
// (-C) so that every build starts from the same state.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STAMP, sourceHash } from './source-hash.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');

const ENTRIES = [
  { input: 'src/index.ts', out: 'dist' },
  { input: 'src/status/index.ts', out: 'dist/status' },
];

fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const sources = sourceHash(root);
const started = performance.now();
// The entries are independent: build them side by side.
await Promise.all(
  ENTRIES.map(async ({ input, out }) => {
    try {
      await promisify(execFile)(process.execPath, [ncc, 'build', input, '-o', out, '--target', 'es2022', '-C', '-q', '--transpile-only'], {
        cwd: root,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      process.stderr.write(`ncc could not build ${input}:\n${error.stdout ?? ''}${error.stderr ?? ''}\n`);
      process.exit(1);
    }
  }),
);
console.log(`dist/: ${ENTRIES.map((e) => e.input).join(', ')} bundled with ncc in ${((performance.now() - started) / 1000).toFixed(1)} s`);
await import('./licenses.mjs');
// What this dist/ was built from, for the end-to-end tests' check (scripts/source-hash.mjs).
fs.mkdirSync(path.dirname(path.join(root, STAMP)), { recursive: true });
fs.writeFileSync(path.join(root, STAMP), `${sources}\n`);
