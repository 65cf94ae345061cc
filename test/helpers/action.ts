/**
 * Runs a compiled action (dist/index.js, or dist/status/index.js for status/action.yml) as a child
 * process, the way the runner does: the action.yml's defaults applied, inputs as INPUT_<NAME> with
 * hyphens kept, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files read back. Always asynchronous, so an
 * emulator in this process keeps answering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { tempDir } from './certs.ts';
// @ts-expect-error: a plain .mjs script without types
import { staleDist } from '../../scripts/source-hash.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(ROOT, 'dist', 'index.js');
export const FAKE_GITHUB_TOKEN = 'ghs_fakeTokenForTests0123456789abcdef';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  title: string | undefined;
  message: string;
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  outputsFile: string;
  summary: string;
  annotations: Annotation[];
  masked: string[];
  /** Everything the run wrote where a person or a later step can read it. */
  everything: string;
  workspace: string;
  ms: number;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  workspace?: string;
  timeoutMs?: number;
  /** Files to write into the workspace before the run. */
  files?: Record<string, string | Buffer>;
}

type ActionYml = { inputs: Record<string, { default?: string }>; outputs: Record<string, unknown>; runs: { main: string } };
const readYml = (file: string): ActionYml => parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as ActionYml;
export const actionYml = readYml('action.yml');
export const statusActionYml = readYml(path.join('status', 'action.yml'));
export const STATUS_DIST = path.join(ROOT, 'dist', 'status', 'index.js');

/** The value the runner gives an input: the workflow's, else action.yml's default with expressions evaluated. */
function inputEnv(actionYml: ActionYml, inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(actionYml.inputs)) {
    const value = inputs[name] ?? (spec.default ?? '').replace('${{ github.token }}', FAKE_GITHUB_TOKEN);
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  for (const name of Object.keys(inputs)) {
    if (!(name in actionYml.inputs)) throw new Error(`test uses input "${name}", which action.yml does not declare`);
  }
  return env;
}

let checkedDist = false;

/** Refuses, loudly, to test a bundle that was not built from the sources as they are now. */
export function assertFreshDist(): void {
  if (checkedDist) return;
  const stale = staleDist(ROOT) as string | undefined;
  if (stale) throw new Error(`${stale}: run \`npm run build\` first (\`npm test\` builds before it tests).`);
  checkedDist = true;
}

/** Runs the main action (action.yml). */
export function runAction(inputs: Record<string, string>, options: RunOptions = {}): Promise<ActionRun> {
  return runCompiled(actionYml, DIST, inputs, options);
}

/** Runs the status action (status/action.yml). */
export function runStatusAction(inputs: Record<string, string>, options: RunOptions = {}): Promise<ActionRun> {
  return runCompiled(statusActionYml, STATUS_DIST, inputs, options);
}

async function runCompiled(actionYml: ActionYml, entry: string, inputs: Record<string, string>, options: RunOptions): Promise<ActionRun> {
  return spawnCompiled(actionYml, entry, inputs, options).done;
}

/** A compiled action started as the runner starts it, with its child process and its finished run. */
export interface SpawnedRun {
  child: ChildProcess;
  /** The run once the child has ended; `ended` is Date.now() at that moment. */
  done: Promise<ActionRun & { ended: number }>;
}

/**
 * Starts a compiled action as the runner does: action.yml's defaults, INPUT_ variables with hyphens kept,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files. `runAction` awaits it; a test that signals the run uses it.
 */
export function spawnCompiled(actionYml: ActionYml, entry: string, inputs: Record<string, string>, options: RunOptions): SpawnedRun {
  assertFreshDist();
  const workspace = options.workspace ?? tempDir('mtls-ws-');
  for (const [file, content] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(workspace, file)), { recursive: true });
    fs.writeFileSync(path.join(workspace, file), content);
  }
  const runnerDir = tempDir('mtls-runner-');
  const outputsFile = path.join(runnerDir, 'output');
  const summaryFile = path.join(runnerDir, 'summary');
  fs.writeFileSync(outputsFile, '');
  fs.writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputsFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'example/repo',
    RUNNER_TEMP: runnerDir,
    RUNNER_OS: 'Linux',
    ...inputEnv(actionYml, inputs),
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }

  const started = Date.now();
  const child = spawn(process.execPath, [entry], { cwd: workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ActionRun & { ended: number }>((resolve, reject) => {
    const limit = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`action did not finish in ${limit} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, limit);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ended = Date.now();
      const outputsRaw = fs.readFileSync(outputsFile, 'utf8');
      const summary = fs.readFileSync(summaryFile, 'utf8');
      resolve({
        code,
        stdout,
        stderr,
        outputs: parseOutputs(outputsRaw),
        outputsFile: outputsRaw,
        summary,
        annotations: parseAnnotations(stdout),
        masked: [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1] ?? ''),
        everything: [stdout, stderr, summary, withoutDelimiters(outputsRaw)].join('\n'),
        workspace,
        ms: ended - started,
        ended,
      });
    });
  });
  return { child, done };
}

/** Parses the GITHUB_OUTPUT file format `name<<DELIMITER\nvalue\nDELIMITER`. */
export function parseOutputs(raw: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = raw.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const [, name, delimiter] = match;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
    outputs[name as string] = value.join('\n');
  }
  return outputs;
}

/**
 * The GITHUB_OUTPUT file without its random `ghadelimiter_<uuid>` lines' delimiters: what a run wrote,
 * and nothing drawn at random that a test looking for a text (a `1970`, a fragment) could meet by chance.
 */
function withoutDelimiters(raw: string): string {
  const delimiters = [...raw.matchAll(/^[^<\n]+<<(.+)$/gm)].map((m) => m[1] ?? '').filter(Boolean);
  return delimiters.reduce((text, delimiter) => text.split(delimiter).join(''), raw);
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

export function parseAnnotations(stdout: string): Annotation[] {
  const annotations: Annotation[] = [];
  for (const match of stdout.matchAll(/^::(error|warning|notice)(?: ([^:]*))?::(.*)$/gm)) {
    const props = match[2] ?? '';
    const title = /(?:^|,)title=([^,]*)/.exec(props)?.[1];
    annotations.push({
      level: match[1] as Annotation['level'],
      title: title === undefined ? undefined : unescapeData(title).replace(/%3A/g, ':').replace(/%2C/g, ','),
      message: unescapeData(match[3] ?? ''),
    });
  }
  return annotations;
}

/** A line of a JavaScript stack trace (`    at fn (file:12:34)`): never in what a user sees. */
export const STACK_TRACE_LINE = /^\s+at .*:\d+:\d+\)?$/m;

/** Secrets must not appear anywhere a person or a later step can read, except in ::add-mask:: lines. */
export function leaks(run: ActionRun, secrets: string[]): string[] {
  const visible = run.everything
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  const found: string[] = [];
  for (const secret of secrets) {
    for (const line of secret
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length >= 8 && !l.startsWith('-----'))) {
      if (visible.includes(line)) found.push(line);
    }
  }
  return found;
}
