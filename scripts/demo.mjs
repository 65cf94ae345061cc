// npm run demo: both actions, offline. Builds dist/ unless it was built from src/ as it is, starts the
// local emulator of OpenAI's certificate endpoints, makes sample certificates with openssl, and runs the
// compiled actions against it as the runner would:
//   1. a client certificate passed by mistake is refused, and nothing is sent;
//   2. a dry run shows the plan, and nothing is written;
//   3. the CA is uploaded and activated for a project;
//   4. a new CA replaces it, retiring the previous one;
//   5. the status action says whether renewal is due.
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
const { makeCa, makeLeaf } = await import('../test/helpers/certs.ts');
const { runAction, runStatusAction } = await import('../test/helpers/action.ts');

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
};
const expectCode = (run, code) => {
  if (run.code !== code) {
    console.log(`(unexpected exit code ${run.code}, expected ${code})`);
    process.exitCode = 1;
  }
};

try {
  const first = makeCa({ cn: 'Demo mTLS CA 2026', days: 365 });
  const inputs = { 'admin-api-key': adminKey, name: 'demo-mtls-ca', 'base-url': emulator.baseURL, 'activate-projects': 'proj_demo' };

  const leaf = makeLeaf(first, 'a client, not the CA');
  const refused = await runAction({ ...inputs, certificate: leaf.pem });
  show('Run 1: a client certificate passed instead of the CA is refused', refused);
  expectCode(refused, 1);
  console.log(`\nThe emulator received ${emulator.requests.length} requests: nothing was sent.`);

  const dry = await runAction({ ...inputs, certificate: first.pem, 'dry-run': 'true' });
  show('Run 2: a dry run reads the organization and shows the plan', dry);
  expectCode(dry, 0);
  console.log(
    `\nRequests so far: ${emulator.requests.map((r) => `${r.method} ${r.path}`).join(', ')}; certificates stored: ${emulator.certificates.length}.`,
  );

  const upload = await runAction({ ...inputs, certificate: first.pem });
  show('Run 3: upload the CA and activate it for proj_demo', upload);
  expectCode(upload, 0);

  const second = makeCa({ cn: 'Demo mTLS CA 2027', days: 730 });
  const rotate = await runAction({ ...inputs, certificate: second.pem, 'retire-previous': 'true' });
  show('Run 4: rotate to a new CA with the same name, retiring the previous one', rotate);
  expectCode(rotate, 0);

  const status = await runStatusAction({ 'admin-api-key': adminKey, name: 'demo-mtls-ca', 'base-url': emulator.baseURL, projects: 'all' });
  show('Run 5: the status action, as a scheduled job would ask it', status);
  expectCode(status, 0);
  console.log(
    `\nThe emulator received ${emulator.requests.length} requests; active for proj_demo now: ${emulator.activeIn('proj_demo').join(', ')}`,
  );
} finally {
  await emulator.close();
}
