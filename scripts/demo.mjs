// npm run demo: the action's main job, offline. Builds dist/ unless it was built from src/ as it is,
// starts the local emulator of OpenAI's certificate endpoints, makes a sample CA with openssl, and runs
// the compiled dist/index.js against it as the runner would; then a second run rotates to a new CA.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleDist } from './source-hash.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (staleDist(root)) {
  console.log('Building dist/ ...');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
}

const { startEmulator } = await import('../test/emulator/emulator.ts');
const { makeCa } = await import('../test/helpers/certs.ts');
const { runAction } = await import('../test/helpers/action.ts');

const emulator = await startEmulator({ projects: ['proj_demo'] });
const adminKey = 'sk-admin-emulator-test-key';
const show = (title, run) => {
  console.log(`\n=== ${title}: exit code ${run.code} ===`);
  console.log('--- log ---');
  console.log(
    run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n')
      .trim(),
  );
  console.log('--- outputs ---');
  for (const [name, value] of Object.entries(run.outputs)) console.log(`${name}=${value}`);
  console.log('--- job summary ---');
  console.log(run.summary.trim());
  if (run.code !== 0) process.exitCode = 1;
};

try {
  const first = makeCa({ cn: 'Demo mTLS CA 2026', days: 365 });
  show(
    'Run 1: upload the CA and activate it for proj_demo',
    await runAction({
      'admin-api-key': adminKey,
      certificate: first.pem,
      name: 'demo-mtls-ca',
      'base-url': emulator.baseURL,
      'activate-projects': 'proj_demo',
    }),
  );
  const second = makeCa({ cn: 'Demo mTLS CA 2027', days: 730 });
  show(
    'Run 2: rotate to a new CA with the same name, retiring the previous one',
    await runAction({
      'admin-api-key': adminKey,
      certificate: second.pem,
      name: 'demo-mtls-ca',
      'base-url': emulator.baseURL,
      'activate-projects': 'proj_demo',
      'retire-previous': 'true',
    }),
  );
  console.log(
    `\nThe emulator received ${emulator.requests.length} requests; active for proj_demo now: ${emulator.activeIn('proj_demo').join(', ')}`,
  );
} finally {
  await emulator.close();
}
