// npm run bench:where: where the start-up time goes, measured. The "certificate already stored" scenario
// of bench.mjs (list, then read the listed copy), run N times (default 20) for the action and for the floor
// of its stack (bench/floor.mjs), each under V8's CPU profiler (--cpu-prof), both bundled with ncc exactly
// as scripts/build.mjs bundles (from the same sources), plus a source map, so that every sample is
// attributed to the package or src/ folder it came from. Prints, per part, the median milliseconds of CPU
// per run for the action and the floor and the difference; then wall time from process start to exit.
//   node bench/where.mjs [--runs N]
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { SourceMap } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { startEmulator } = await import('../test/emulator/emulator.ts');
const { makeCa } = await import('../test/helpers/certs.ts');
const { actionYml } = await import('../test/helpers/action.ts');

const args = process.argv.slice(2);
const runs = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : 20) || 20;
const adminKey = 'sk-admin-emulator-test-key';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** ncc, as scripts/build.mjs runs it, plus a source map (the bundle's code is the same; a map is added). */
function bundle(entry) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-where-'));
  const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
  execFileSync(
    process.execPath,
    [ncc, 'build', entry, '-o', out, '--target', 'es2022', '-C', '-q', '--transpile-only', '-s', '--no-source-map-register'],
    {
      cwd: root,
    },
  );
  return {
    dir: out,
    main: path.join(
      out,
      fs.readdirSync(out).find((f) => /^index\.m?js$/.test(f)),
    ),
  };
}

/** The part of the stack a bundled source belongs to: a package, a folder of src/, or the bundler's glue. */
function partOf(source) {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = source.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = source.indexOf('/src/');
  if (src >= 0) {
    const rest = source.slice(src + 1).split('/');
    return rest.length > 2 ? `${rest[0]}/${rest[1]}/` : 'src/ (top level)';
  }
  if (source.includes('/bench/')) return 'bench/floor.mjs';
  return 'bundler glue (webpack)';
}

const maps = new Map();
function mapFor(file) {
  if (!maps.has(file)) {
    const mapFile = `${file}.map`;
    maps.set(file, fs.existsSync(mapFile) ? new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8'))) : null);
  }
  return maps.get(file);
}

/** CPU milliseconds per part of one profile (self time of every sampled frame). */
function attribute(profileFile) {
  const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parts = {};
  const add = (part, us) => (parts[part] = (parts[part] ?? 0) + us / 1000);
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber, columnNumber } = byId.get(id).callFrame;
    if (!url) {
      // (program): V8 compiling and running outside any JavaScript frame; (idle): waiting for I/O.
      add(
        functionName === '(idle)'
          ? 'waiting for I/O (idle)'
          : functionName === '(garbage collector)'
            ? 'garbage collection'
            : 'V8: compile, parse, runtime (program)',
        dt,
      );
      return;
    }
    if (url.startsWith('node:')) return add('Node.js internals (node:*)', dt);
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    if (!path.isAbsolute(file)) return add(`other (${url.slice(0, 40)})`, dt);
    const entry = mapFor(file)?.findEntry(lineNumber, columnNumber);
    add(entry?.originalSource ? partOf(entry.originalSource) : `${path.basename(file)} (unmapped)`, dt);
  });
  return { parts, profiledMs: (profile.endTime - profile.startTime) / 1000 };
}

const ca = makeCa({ cn: 'Bench CA' });
const emu = await startEmulator();
const inputs = { 'admin-api-key': adminKey, certificate: ca.pem, name: 'bench', 'base-url': emu.baseURL };
function actionEnv() {
  const runner = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-runner-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', RUNNER_TEMP: runner, GITHUB_WORKSPACE: runner };
  env.GITHUB_OUTPUT = path.join(runner, 'output');
  env.GITHUB_STEP_SUMMARY = path.join(runner, 'summary');
  fs.writeFileSync(env.GITHUB_OUTPUT, '');
  fs.writeFileSync(env.GITHUB_STEP_SUMMARY, '');
  for (const [name, spec] of Object.entries(actionYml.inputs))
    env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? (spec.default ?? '').replace('${{ github.token }}', '');
  return { env, runner };
}

const contenders = [
  { key: 'action', bundle: bundle('src/index.ts') },
  { key: 'floor', bundle: bundle('bench/floor.mjs') },
];
const results = Object.fromEntries(contenders.map((c) => [c.key, { parts: [], walls: [], profiled: [] }]));
for (let i = 0; i < runs + 2; i++) {
  for (const c of i % 2 ? [...contenders].reverse() : contenders) {
    emu.certificates.length = 0;
    emu.addCertificate(ca.pem, { name: 'bench' });
    const profiles = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-prof-'));
    const { env, runner } = actionEnv();
    const started = performance.now();
    await promisify(execFile)(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profiles, c.bundle.main], {
      env: { ...env, BENCH_SCENARIO: 'stored' },
    });
    const wall = performance.now() - started;
    const { parts, profiledMs } = attribute(path.join(profiles, fs.readdirSync(profiles)[0]));
    if (i >= 2) {
      // The first two rounds warm the disk cache and are left out.
      results[c.key].parts.push(parts);
      results[c.key].walls.push(wall);
      results[c.key].profiled.push(profiledMs);
    }
    fs.rmSync(profiles, { recursive: true, force: true });
    fs.rmSync(runner, { recursive: true, force: true });
  }
}
await emu.close();
for (const c of contenders) fs.rmSync(c.bundle.dir, { recursive: true, force: true });

const names = [...new Set(contenders.flatMap((c) => results[c.key].parts.flatMap((p) => Object.keys(p))))];
const perPart = (key, name) => median(results[key].parts.map((p) => p[name] ?? 0));
const table = names
  .map((name) => ({ name, action: perPart('action', name), floor: perPart('floor', name) }))
  .sort((a, b) => b.action - b.floor - (a.action - a.floor));
console.log(`Where the time goes: "certificate already stored", ${runs} runs each under --cpu-prof (medians, ms per run)`);
console.log('');
console.log('| part | action | floor | difference |');
console.log('|---|---:|---:|---:|');
for (const r of table) {
  if (r.action < 0.05 && r.floor < 0.05) continue;
  console.log(
    `| ${r.name} | ${r.action.toFixed(1)} | ${r.floor.toFixed(1)} | ${(r.action - r.floor >= 0 ? '+' : '') + (r.action - r.floor).toFixed(1)} |`,
  );
}
const wall = (key) => median(results[key].walls);
const prof = (key) => median(results[key].profiled);
console.log(
  `| profiled (from the profiler's start to exit) | ${prof('action').toFixed(1)} | ${prof('floor').toFixed(1)} | ${(prof('action') - prof('floor')).toFixed(1)} |`,
);
console.log(
  `| wall, process start to exit (profiler on) | ${wall('action').toFixed(1)} | ${wall('floor').toFixed(1)} | ${(wall('action') - wall('floor')).toFixed(1)} |`,
);
console.log('');
console.log(
  `machine: ${os.cpus()[0]?.model.trim()} x${os.cpus().length}, Node ${process.version}; load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
