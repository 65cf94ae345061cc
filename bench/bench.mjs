// npm run bench: figures for the compiled actions, against the local emulator. Prints figures only;
// targets are stated beside them, never enforced here (a shared machine's noise is not a failure).
//   node bench/bench.mjs [--rounds N] [--smoke] [--dist path/to/index.js]
//
// Start-up: dist/index.js as the runner runs it, against the floor of its own stack (bench/floor.mjs:
// @actions/core and the openai SDK alone, bundled the same way with ncc, reading the same inputs, making
// the same requests and setting two outputs), in two scenarios: the certificate already stored (list, read
// it: the start-up figure, goal at most 1.10) and a plain upload (list, upload, list, which includes the
// action's deliberate wait for the API's clock; with, for information, a bare Node script making the one
// POST with fetch). N rounds after 3 warm-up rounds, the order rotated every round; each ratio is taken
// against the floor of the same round, and the median of those ratios is the figure, printed with the
// middle half of the ratios and a 95% bootstrap interval of the median (default 40 rounds). Where the time goes: bench/where.mjs.
// Fan-out: upload plus activation in 25 projects with 100 ms of emulated latency on every request,
// against the same calls made one after another (goal: at most 0.35 of that time).
// Status: the status action with `projects: all` over 100 projects, 100 ms of latency on every request,
// against the same calls made one after another (goal: at most 0.15 of that time).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { startEmulator } = await import('../test/emulator/emulator.ts');
const { makeCa } = await import('../test/helpers/certs.ts');
const { actionYml, statusActionYml, STATUS_DIST } = await import('../test/helpers/action.ts');

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const smoke = args.includes('--smoke');
const rounds = Number(option('--rounds')) || (smoke ? 3 : 40);
const adminKey = 'sk-admin-emulator-test-key';
const dist = path.resolve(option('--dist') ?? path.join(root, 'dist', 'index.js'));
if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);

/** The value below which a fraction `q` of `xs` lie (linear between neighbours). */
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * A 95% confidence interval of the median of `xs`, by the percentile bootstrap: the median of 10,000
 * resamples (drawn with replacement, from a fixed seed so that the same figures give the same interval),
 * and the 2.5th and 97.5th percentiles of those medians. It says how far the median itself could move on
 * another run of as many rounds on a machine as noisy: the goal is met with a margin when the whole
 * interval is under it.
 */
function medianInterval(xs) {
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians = Array.from({ length: 10_000 }, () => median(xs.map(() => xs[Math.floor(random() * xs.length)])));
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

function timed(argv, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Every temporary directory the bench makes, removed when it ends. */
const made = [];
process.on('exit', () => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const tempDir = (prefix) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
};

/** The environment the runner gives an action: INPUT_* (action.yml defaults filled in), output files. */
function actionEnv(inputs, yml = actionYml) {
  const runner = tempDir('bench-runner-');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', RUNNER_TEMP: runner, GITHUB_WORKSPACE: runner };
  env.GITHUB_OUTPUT = path.join(runner, 'output');
  env.GITHUB_STEP_SUMMARY = path.join(runner, 'summary');
  fs.writeFileSync(env.GITHUB_OUTPUT, '');
  fs.writeFileSync(env.GITHUB_STEP_SUMMARY, '');
  for (const [name, spec] of Object.entries(yml.inputs)) {
    env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? (spec.default ?? '').replace('${{ github.token }}', '');
  }
  return env;
}

/** Bundles a bench script with ncc, exactly as scripts/build.mjs bundles the action. */
function bundle(script) {
  const out = tempDir('bench-bundle-');
  const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
  execFileSync(process.execPath, [ncc, 'build', path.join(root, 'bench', script), '-o', out, '--target', 'es2022', '-C', '-q']);
  return path.join(
    out,
    fs.readdirSync(out).find((f) => /^index\.m?js$/.test(f)),
  );
}

const rows = [];
const ca = makeCa({ cn: 'Bench CA' });
const machine = `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;

// --- start-up --------------------------------------------------------------------------------
/**
 * One start-up scenario: the contenders run one after another in every round, the order rotated each
 * round, each ratio taken against the floor of the same round; the figure is the median of those ratios.
 */
async function startUp(scenario) {
  const emu = await startEmulator();
  const floor = bundle('floor.mjs');
  const inputs = { 'admin-api-key': adminKey, certificate: ca.pem, name: 'bench', 'base-url': emu.baseURL };
  const bareEnv = { PATH: process.env.PATH, BENCH_BASE_URL: emu.baseURL, BENCH_ADMIN_KEY: adminKey, BENCH_CERTIFICATE: ca.pem };
  const contenders = [
    {
      key: 'floor',
      label: `floor: @actions/core + openai SDK alone, same requests (${scenario.name})`,
      argv: [floor],
      env: () => ({ ...actionEnv(inputs), BENCH_SCENARIO: scenario.key }),
    },
    { key: 'action', label: `action: ${scenario.name}`, argv: [dist], env: () => actionEnv(inputs) },
  ];
  if (scenario.key === 'upload') {
    contenders.push({
      key: 'bare',
      label: 'bare fetch, one POST (information only)',
      argv: [path.join(root, 'bench', 'bare-fetch.mjs')],
      env: () => bareEnv,
    });
  }
  const runOnce = async (c) => {
    emu.certificates.length = 0;
    // Stored a minute ago (the emulator's default), so no run waits for the API's clock.
    if (scenario.key === 'stored') emu.addCertificate(ca.pem, { name: 'bench' });
    const before = emu.requests.length;
    const ms = await timed(c.argv, c.env());
    return { ms, calls: emu.requests.length - before };
  };
  for (let i = 0; i < 3; i++) for (const c of contenders) await runOnce(c);
  const times = Object.fromEntries(contenders.map((c) => [c.key, []]));
  const ratios = Object.fromEntries(contenders.map((c) => [c.key, []]));
  const calls = {};
  for (let i = 0; i < rounds; i++) {
    const round = {};
    for (let j = 0; j < contenders.length; j++) {
      const c = contenders[(i + j) % contenders.length];
      const { ms, calls: made } = await runOnce(c);
      round[c.key] = ms;
      calls[c.key] = made;
      times[c.key].push(ms);
    }
    for (const c of contenders) ratios[c.key].push(round[c.key] / round.floor);
  }
  await emu.close();
  if (calls.action !== calls.floor) throw new Error(`${scenario.name}: the action made ${calls.action} requests, the floor ${calls.floor}`);
  console.log(`start-up, ${scenario.name}: ${rounds} rounds after 3 warm-up rounds, the order rotated every round`);
  for (const c of contenders) {
    rows.push({ scenario: c.label, calls: calls[c.key], ms: median(times[c.key]), ratio: median(ratios[c.key]) });
    console.log(`  ${c.key.padEnd(7)} median ${median(times[c.key]).toFixed(1)} ms   [${times[c.key].map((x) => x.toFixed(0)).join(' ')}]`);
  }
  const [low, high] = medianInterval(ratios.action);
  console.log(
    `  the action against the floor, median of per-round ratios: ${median(ratios.action).toFixed(3)}, middle half ${quantile(ratios.action, 0.25).toFixed(3)} to ${quantile(ratios.action, 0.75).toFixed(3)}, 95% interval of the median ${low.toFixed(3)} to ${high.toFixed(3)}${scenario.goal}`,
  );
}

// Start-up proper: a run that finds its certificate stored (every scheduled re-run, every re-run of a
// workflow), so nothing but the action's own work separates it from the floor.
await startUp({ key: 'stored', name: 'certificate already stored', goal: ' (goal: at most 1.10)' });
// A plain upload: the same, plus the wait for the API's clock to leave the copy's second (see README).
await startUp({ key: 'upload', name: 'plain upload', goal: " (no goal: includes the wait for the API's clock)" });

// --- fan-out ----------------------------------------------------------------------------------
{
  const projects = Array.from({ length: 25 }, (_, i) => `proj_bench${String(i).padStart(2, '0')}`);
  const emu = await startEmulator({ projects, latencyMs: 100 });
  const fanOut = async () => {
    emu.certificates.length = 0;
    emu.requests.length = 0;
    const ms = await timed(
      [dist],
      actionEnv({ 'admin-api-key': adminKey, certificate: ca.pem, 'base-url': emu.baseURL, 'activate-projects': projects.join(',') }),
    );
    return { ms, requests: emu.requests.map((r) => ({ method: r.method, path: r.path, query: r.query, body: r.body })) };
  };
  const runs = smoke ? 1 : 3;
  const walls = [];
  const seqs = [];
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const { ms, requests } = await fanOut();
    calls = requests.length;
    walls.push(ms);
    seqs.push(await replay(emu, requests));
  }
  await emu.close();
  const fraction = median(walls) / median(seqs);
  rows.push({ scenario: 'action: upload + 25 projects, 100 ms latency', calls, ms: median(walls), ratio: fraction });
  rows.push({ scenario: 'same calls one after another', calls, ms: median(seqs), ratio: 1 });
  console.log(
    `fan-out: ${calls} calls; ${median(walls).toFixed(0)} ms (process start included) vs ${median(seqs).toFixed(0)} ms one after another`,
  );
  console.log(`  fraction of the sequential time: ${fraction.toFixed(3)} (goal: at most 0.35)`);
}

// --- status, projects: all ------------------------------------------------------------------
{
  const projects = Array.from({ length: 100 }, (_, i) => `proj_status${String(i).padStart(3, '0')}`);
  const emu = await startEmulator({ projects, latencyMs: 100 });
  emu.addCertificate(ca.pem, { name: 'bench', activeOrg: true, activeProjects: projects.slice(0, 50) });
  const runs = smoke ? 1 : 3;
  const walls = [];
  const seqs = [];
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    emu.requests.length = 0;
    walls.push(
      await timed([STATUS_DIST], actionEnv({ 'admin-api-key': adminKey, 'base-url': emu.baseURL, projects: 'all' }, statusActionYml)),
    );
    const requests = emu.requests.map((r) => ({ method: r.method, path: r.path, query: r.query, body: r.body }));
    calls = requests.length;
    seqs.push(await replay(emu, requests, false));
  }
  await emu.close();
  const fraction = median(walls) / median(seqs);
  rows.push({ scenario: 'status: projects: all, 100 projects, 100 ms latency', calls, ms: median(walls), ratio: fraction });
  rows.push({ scenario: 'same calls one after another', calls, ms: median(seqs), ratio: 1 });
  console.log(
    `status: ${calls} calls; ${median(walls).toFixed(0)} ms (process start included) vs ${median(seqs).toFixed(0)} ms one after another`,
  );
  console.log(`  fraction of the sequential time: ${fraction.toFixed(3)} (goal: at most 0.15)`);
}

/**
 * The same requests, one after another, from this warm process: a lower bound for an action that made
 * them in sequence. An id the action got back (the upload's) is replaced by the one this replay gets.
 */
async function replay(emu, requests, fresh = true) {
  if (fresh) emu.certificates.length = 0;
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
}

console.log('');
console.log(`| scenario | calls | median ms | ratio |`);
console.log(`|---|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.scenario} | ${r.calls} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(3)} |`);
console.log('');
console.log(`machine: ${machine}`);
if (smoke) console.log('(smoke mode: few runs, figures are indicative only)');
