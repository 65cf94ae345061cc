// npm run bench: start-up and fan-out figures for the compiled action, against the local emulator.
//   node bench/bench.mjs [--pairs N] [--smoke] [--dist path/to/index.js]
// Cold start: dist/index.js doing a plain upload (one list, one upload) as the runner runs it, against
// a bare Node script making the same single POST with fetch, and against the official SDK alone making
// that POST (with its default fetch, and over the action's node:http transport) or, as the action does,
// a list and then that POST; N rounds after a warm-up, the order rotated every round, each ratio taken
// against the bare fetch of the same round.
// Fan-out: upload plus activation in 25 projects with 100 ms of emulated latency on every request,
// against the same calls made one after another.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { startEmulator } = await import('../test/emulator/emulator.ts');
const { makeCa } = await import('../test/helpers/certs.ts');
const { actionYml } = await import('../test/helpers/action.ts');

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const pairs = Number(args[args.indexOf('--pairs') + 1]) || (smoke ? 3 : 25);
const adminKey = 'sk-admin-emulator-test-key';
const dist = args.includes('--dist') ? path.resolve(args[args.indexOf('--dist') + 1]) : path.join(root, 'dist', 'index.js');
if (!fs.existsSync(dist)) throw new Error('dist/index.js is missing: run npm run build first');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function timed(command, argv, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${path.basename(argv[0])} exited ${code}:\n${out}`));
      else resolve(ms);
    });
  });
}

function actionEnv(inputs) {
  const runner = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-runner-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', RUNNER_TEMP: runner, GITHUB_WORKSPACE: runner };
  env.GITHUB_OUTPUT = path.join(runner, 'output');
  env.GITHUB_STEP_SUMMARY = path.join(runner, 'summary');
  fs.writeFileSync(env.GITHUB_OUTPUT, '');
  fs.writeFileSync(env.GITHUB_STEP_SUMMARY, '');
  for (const [name, spec] of Object.entries(actionYml.inputs)) {
    env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? (spec.default ?? '').replace('${{ github.token }}', '');
  }
  return env;
}

const rows = [];
const ca = makeCa({ cn: 'Bench CA' });

// --- cold start -------------------------------------------------------------------------------
{
  const emu = await startEmulator();
  const bareEnv = { PATH: process.env.PATH, BENCH_BASE_URL: emu.baseURL, BENCH_ADMIN_KEY: adminKey, BENCH_CERTIFICATE: ca.pem };
  // The SDK-alone floors, bundled as the action is: with the SDK's default fetch, and over the
  // action's own node:http transport.
  const sdkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sdk-'));
  for (const name of ['sdk-floor', 'sdk-floor-http']) {
    const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
    execFileSync(process.execPath, [ncc, 'build', path.join(root, 'bench', `${name}.mjs`), '-o', path.join(sdkDir, name), '-C', '-q']);
  }
  const contenders = [
    { key: 'bare', label: 'bare fetch (floor)', argv: [path.join(root, 'bench', 'bare-fetch.mjs')], env: () => bareEnv },
    {
      key: 'sdk',
      label: 'official SDK alone, bundled: one upload',
      argv: [path.join(sdkDir, 'sdk-floor', 'index.mjs')],
      env: () => bareEnv,
    },
    {
      key: 'sdk-http',
      label: "same, over the action's node:http transport",
      argv: [path.join(sdkDir, 'sdk-floor-http', 'index.mjs')],
      env: () => bareEnv,
    },
    {
      key: 'sdk-2',
      label: 'same, two calls (list, upload) as the action makes',
      argv: [path.join(sdkDir, 'sdk-floor-http', 'index.mjs')],
      env: () => ({ ...bareEnv, BENCH_LIST_FIRST: '1' }),
    },
    {
      key: 'action',
      label: 'action: plain upload',
      argv: [dist],
      env: () => actionEnv({ 'admin-api-key': adminKey, certificate: ca.pem, name: 'bench', 'base-url': emu.baseURL }),
    },
  ];
  const runOnce = async (c) => {
    emu.certificates.length = 0;
    const before = emu.requests.length;
    const ms = await timed(process.execPath, c.argv, c.env());
    return { ms, calls: emu.requests.length - before };
  };
  for (let i = 0; i < 3; i++) for (const c of contenders) await runOnce(c);
  const times = Object.fromEntries(contenders.map((c) => [c.key, []]));
  const ratios = Object.fromEntries(contenders.map((c) => [c.key, []]));
  const calls = {};
  for (let i = 0; i < pairs; i++) {
    // Rotate the order every round, so that no contender always runs first or last.
    const round = {};
    for (let j = 0; j < contenders.length; j++) {
      const c = contenders[(i + j) % contenders.length];
      const { ms, calls: made } = await runOnce(c);
      round[c.key] = ms;
      calls[c.key] = made;
      times[c.key].push(ms);
    }
    for (const c of contenders) ratios[c.key].push(round[c.key] / round.bare);
  }
  await emu.close();
  console.log(`cold start: ${pairs} rounds after 3 warm-up rounds, the order rotated every round`);
  for (const c of contenders) {
    rows.push({ scenario: c.label, calls: calls[c.key], ms: median(times[c.key]), ratio: median(ratios[c.key]) });
    console.log(`  ${c.key.padEnd(9)} median ${median(times[c.key]).toFixed(1)} ms   [${times[c.key].map((x) => x.toFixed(0)).join(' ')}]`);
  }
  console.log(
    `  median of ratios to the bare fetch in the same round: action ${median(ratios.action).toFixed(3)} (target <= 1.25); ` +
      `SDK alone ${median(ratios.sdk).toFixed(3)}, over node:http ${median(ratios['sdk-http']).toFixed(3)}, ` +
      `two calls ${median(ratios['sdk-2']).toFixed(3)}`,
  );
}

// --- fan-out ----------------------------------------------------------------------------------
{
  const projects = Array.from({ length: 25 }, (_, i) => `proj_bench${String(i).padStart(2, '0')}`);
  const emu = await startEmulator({ projects, latencyMs: 100 });
  const fanOut = async () => {
    emu.certificates.length = 0;
    emu.requests.length = 0;
    const ms = await timed(
      process.execPath,
      [dist],
      actionEnv({ 'admin-api-key': adminKey, certificate: ca.pem, 'base-url': emu.baseURL, 'activate-projects': projects.join(',') }),
    );
    return { ms, requests: emu.requests.map((r) => ({ method: r.method, path: r.path, query: r.query, body: r.body })) };
  };
  // The same calls, one after another, from one warm process: a lower bound for a sequential action.
  const sequential = async (requests) => {
    emu.certificates.length = 0;
    const started = performance.now();
    let uploadedId;
    for (const r of requests) {
      const query = new URLSearchParams(Object.entries(r.query).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])));
      let body = r.body === null ? undefined : JSON.stringify(r.body);
      if (uploadedId && body) body = body.replace(/cert_[A-Za-z0-9]+/g, uploadedId);
      const url = `${emu.origin}${r.path}${query.size ? `?${query}` : ''}`;
      const response = await fetch(url, {
        method: r.method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body,
      });
      const json = await response.json();
      if (!response.ok) throw new Error(`sequential replay: ${r.method} ${r.path} -> ${response.status}`);
      if (r.method === 'POST' && r.path === '/v1/organization/certificates') uploadedId = json.id;
    }
    return performance.now() - started;
  };
  const runs = smoke ? 1 : 3;
  const walls = [];
  const seqs = [];
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const { ms, requests } = await fanOut();
    calls = requests.length;
    walls.push(ms);
    seqs.push(await sequential(requests));
  }
  await emu.close();
  const fraction = median(walls) / median(seqs);
  rows.push({ scenario: 'action: upload + 25 projects, 100 ms latency', calls, ms: median(walls), ratio: fraction });
  rows.push({ scenario: 'same calls one after another', calls, ms: median(seqs), ratio: 1 });
  console.log(
    `fan-out: ${calls} calls; action wall ${median(walls).toFixed(0)} ms (process start included) vs ${median(seqs).toFixed(0)} ms one after another`,
  );
  console.log(`  fraction of sequential time: ${fraction.toFixed(3)} (target <= 0.35)`);
}

console.log('');
console.log(`| scenario | calls | median ms | ratio |`);
console.log(`|---|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.scenario} | ${r.calls} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(3)} |`);
console.log('');
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
);
if (smoke) console.log('(smoke mode: few runs, figures are indicative only)');
