import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '../helpers/certs.ts';
// @ts-expect-error: a plain .mjs script without types
import { changelogSection as untypedChangelogSection } from '../../scripts/changelog.mjs';

const changelogSection = untypedChangelogSection as (text: string, version: string, name?: string) => string;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Git as the tests want it whatever the user's configuration: a fixed identity, no signing, no hook's
// GIT_DIR. The release script inherits this environment too.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Release Test',
  GIT_AUTHOR_EMAIL: 'release-test@example.test',
  GIT_COMMITTER_NAME: 'Release Test',
  GIT_COMMITTER_EMAIL: 'release-test@example.test',
  GIT_CONFIG_COUNT: '3',
  GIT_CONFIG_KEY_0: 'commit.gpgSign',
  GIT_CONFIG_VALUE_0: 'false',
  GIT_CONFIG_KEY_1: 'tag.gpgSign',
  GIT_CONFIG_VALUE_1: 'false',
  GIT_CONFIG_KEY_2: 'advice.detachedHead',
  GIT_CONFIG_VALUE_2: 'false',
};
for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[name];

// A stand-in for `npm run build` (a full ncc build takes from half a minute to minutes on a busy machine),
// given to release.sh as RELEASE_BUILD_COMMAND: like the real build, it empties dist/ and writes it anew
// from every file under src/, so it is deterministic and any change to a source changes dist/. One test
// below runs the real build instead.
const STUB_BUILD = 'rm -rf dist && mkdir dist && find src -type f | LC_ALL=C sort | xargs cat > dist/index.js';
const stubEnv: NodeJS.ProcessEnv = { ...env, RELEASE_BUILD_COMMAND: STUB_BUILD };

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();

// scripts/release.sh run for real: in a clone of this repository, pushing to a bare repository that stands
// in for GitHub.
describe('scripts/release.sh', () => {
  let dir: string;
  let work: string;
  let remote: string;

  const release = (...args: string[]) => spawnSync('bash', ['scripts/release.sh', ...args], { cwd: work, env: stubEnv, encoding: 'utf8' });
  /** release.sh as a user runs it: with the real `npm run build`. */
  const releaseWithRealBuild = (...args: string[]) =>
    spawnSync('bash', ['scripts/release.sh', ...args], { cwd: work, env, encoding: 'utf8' });
  const head = (): string => git(work, 'rev-parse', 'HEAD');
  const commitOf = (repo: string, ref: string): string => git(repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(work, file), 'utf8'));
  const npm = (...args: string[]) => execFileSync('npm', args, { cwd: work, env, encoding: 'utf8' });

  /** Everything a refused release must leave as it was: HEAD, the local tags, origin's refs, the version. */
  const state = () => ({
    head: head(),
    tags: git(work, 'tag', '--list'),
    origin: git(remote, 'for-each-ref', '--format=%(refname) %(objectname)'),
    version: readJson('package.json').version as string,
  });
  function expectRefused(run: SpawnSyncReturns<string>, message: string, before: ReturnType<typeof state>, status = 1): void {
    expect(run.status, run.stderr).toBe(status);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n'), 'one line on stderr').toHaveLength(1);
    expect(state()).toEqual(before);
  }

  const section = (version: string, change = `- What ${version} changes.`) => `## [${version}] - 2026-11-29\n\n### Changed\n\n${change}\n`;
  /** Commits CHANGELOG.md with these sections under [Unreleased] (and any other files), and pushes main. */
  function commitAndPush(sections: string[], files: Record<string, string> = {}): string {
    const changelog = ['# Changelog', 'Test changelog.', '## [Unreleased]', ...sections].join('\n\n');
    for (const [file, text] of Object.entries({ 'CHANGELOG.md': changelog, ...files })) fs.writeFileSync(path.join(work, file), text);
    git(work, 'commit', '--quiet', '--all', '--allow-empty', '-m', `Changelog: ${sections.length} release(s)`);
    git(work, 'push', '--quiet', 'origin', 'main');
    return head();
  }

  beforeAll(() => {
    dir = tempDir('release-test-');
    remote = path.join(dir, 'remote.git');
    work = path.join(dir, 'work');
    git(dir, 'init', '--quiet', '--bare', remote);
    // CI's checkout is shallow, and so is its clone: let the stand-in for GitHub take its history.
    git(remote, 'config', 'receive.shallowUpdate', 'true');
    git(dir, 'clone', '--quiet', '--no-hardlinks', root, work);
    git(work, 'checkout', '--quiet', '-B', 'main');
    git(work, 'remote', 'set-url', 'origin', remote);
    // Tags of the real repository (v1 among them, once there are releases) would stand in the way.
    for (const tag of git(work, 'tag', '--list').split('\n').filter(Boolean)) git(work, 'tag', '--delete', tag);

    // The project as committed (a state that builds, whatever is being edited), with the files under test
    // as they are in the work tree, committed or not.
    for (const file of ['scripts/release.sh', 'scripts/changelog.mjs']) fs.copyFileSync(path.join(root, file), path.join(work, file));
    git(work, 'add', '--all');
    git(work, 'commit', '--quiet', '--allow-empty', '-m', 'The release scripts under test');

    // A dist/ that the stand-in build leaves as it is, and a version no test releases, so that the first
    // release has something to commit.
    execFileSync('bash', ['-c', STUB_BUILD], { cwd: work, env });
    npm('version', '0.0.0', '--no-git-tag-version', '--allow-same-version', '--offline');
    git(work, 'add', '--all');
    git(work, 'commit', '--quiet', '--allow-empty', '-m', 'Fresh dist/ (stand-in build), version 0.0.0');
    commitAndPush([section('1.0.0')]);
  }, 60_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a malformed version or a stray argument with exit 2', () => {
    const before = state();
    for (const args of [[], ['1.0'], ['v1.0.0'], ['1.0.0-rc.1'], ['01.0.0'], ['1.0.0', '--force'], ['1.0.0', '--push', 'more']]) {
      expectRefused(release(...args), 'usage: scripts/release.sh X.Y.Z [--push]', before, 2);
    }
  });

  it('refuses a work tree with changes or untracked files', () => {
    const before = state();
    fs.appendFileSync(path.join(work, 'README.md'), '\nstray edit\n');
    expectRefused(release('1.0.0'), 'Not releasing v1.0.0: the work tree is not clean', before);
    git(work, 'checkout', '--quiet', '--', 'README.md');
    fs.writeFileSync(path.join(work, 'notes.txt'), 'untracked\n');
    expectRefused(release('1.0.0'), 'the work tree is not clean', before);
    fs.rmSync(path.join(work, 'notes.txt'));
  });

  it('refuses a branch other than main', () => {
    git(work, 'switch', '--quiet', '-c', 'feature');
    const before = state();
    expectRefused(release('1.0.0'), 'on feature, not main: git switch main', before);
    git(work, 'switch', '--quiet', 'main');
    git(work, 'branch', '--quiet', '-D', 'feature');
  });

  it('refuses when main has a commit not pushed to origin', () => {
    fs.writeFileSync(path.join(work, 'notes.txt'), 'committed, not pushed\n');
    git(work, 'add', 'notes.txt');
    git(work, 'commit', '--quiet', '-m', 'Not pushed');
    const before = state();
    expectRefused(release('1.0.0'), 'main has 1 commit(s) not on origin/main: push them', before);
    git(work, 'reset', '--quiet', '--hard', 'HEAD~1');
  });

  it('refuses when origin/main has moved on since the last pull, and when the two have diverged', () => {
    // Someone else pushes: a commit made in the remote itself, which the clone has not fetched yet.
    const pushed = git(remote, 'rev-parse', 'main');
    const theirs = git(remote, 'commit-tree', 'main^{tree}', '-p', 'main', '-m', 'Pushed by someone else');
    git(remote, 'update-ref', 'refs/heads/main', theirs);
    const before = state();
    expectRefused(release('1.0.0'), 'origin/main has 1 commit(s) that main lacks: git pull --ff-only', before);

    git(work, 'commit', '--quiet', '--allow-empty', '-m', 'Not pushed either');
    const diverged = state();
    expectRefused(release('1.0.0'), 'main and origin/main have diverged', diverged);

    git(work, 'reset', '--quiet', '--hard', 'HEAD~1');
    git(remote, 'update-ref', 'refs/heads/main', pushed);
    git(work, 'fetch', '--quiet', 'origin');
    expect(commitOf(work, 'origin/main')).toBe(head());
  });

  it('refuses a version CHANGELOG.md has no section for', () => {
    const before = state();
    expectRefused(release('1.1.0'), "CHANGELOG.md has no section [1.1.0]: add one headed '## [1.1.0] - YYYY-MM-DD'", before);
    // 1.0.1 is not 1.0.10, nor 11.0.1.
    commitAndPush([section('1.0.10'), section('11.0.1'), section('1.0.0')]);
    expectRefused(release('1.0.1'), 'CHANGELOG.md has no section [1.0.1]', state());
  });

  it('refuses an empty or undated changelog section', () => {
    commitAndPush(['## [1.1.0] - 2026-11-29\n', section('1.0.0')]);
    expectRefused(release('1.1.0'), "CHANGELOG.md's section [1.1.0] is empty", state());
    commitAndPush(['## [1.1.0] - 2026-11-29\n\n### Added\n\n### Fixed\n', section('1.0.0')]);
    expectRefused(release('1.1.0'), "CHANGELOG.md's section [1.1.0] is empty", state());
    commitAndPush([section('1.1.0').replace(' - 2026-11-29', ''), section('1.0.0')]);
    expectRefused(release('1.1.0'), "CHANGELOG.md's section [1.1.0] has no date", state());
    commitAndPush([section('1.0.0')]);
  });

  it('refuses a tag that exists locally', () => {
    git(work, 'tag', 'v1.0.0');
    const before = state();
    expectRefused(release('1.0.0'), 'v1.0.0 exists already here', before);
    git(work, 'tag', '--delete', 'v1.0.0');
  });

  it('refuses a tag that exists only on origin', () => {
    git(remote, 'tag', 'v1.0.0', 'main');
    const before = state();
    expectRefused(release('1.0.0'), 'v1.0.0 exists already on origin', before);
    expect(git(work, 'tag', '--list')).toBe('');
    git(remote, 'tag', '--delete', 'v1.0.0');
  });

  it('releases 1.0.0 with --push: a "Release v1.0.0" commit with the version, v1.0.0 and v1 on it, all on origin', () => {
    const changelogCommit = head();
    const run = release('1.0.0', '--push');
    expect(run.stderr).not.toMatch(/error|fatal|warn/i);
    expect(run.status, run.stderr).toBe(0);

    const released = head();
    expect(git(work, 'log', '-1', '--format=%s')).toBe('Release v1.0.0');
    expect(git(work, 'rev-parse', 'HEAD~1')).toBe(changelogCommit);
    expect(git(work, 'diff', '--name-only', changelogCommit, released)).toBe('package-lock.json\npackage.json');
    expect(readJson('package.json').version).toBe('1.0.0');
    const lock = readJson('package-lock.json');
    expect([lock.version, lock.packages[''].version]).toEqual(['1.0.0', '1.0.0']);
    expect(git(work, 'status', '--porcelain')).toBe('');

    expect(git(work, 'cat-file', '-t', 'v1.0.0')).toBe('tag'); // annotated
    expect(commitOf(work, 'v1.0.0')).toBe(released);
    expect(commitOf(work, 'v1')).toBe(released);
    for (const ref of ['main', 'v1.0.0', 'v1']) expect(commitOf(remote, ref), `origin's ${ref}`).toBe(released);
    expect(run.stdout).toContain('Committed "Release v1.0.0"');
    expect(run.stdout).toContain('package.json version 0.0.0 -> 1.0.0');
    expect(run.stdout).toContain(`Tagged v1.0.0 on ${released.slice(0, 7)} and created v1 there`);
    expect(run.stdout).toContain('Pushed main, v1.0.0 and v1 to origin');

    expectRefused(release('1.0.0'), 'v1.0.0 exists already here', state());
  }, 120_000);

  it('releases 1.0.1 without --push and without a commit when the version is set already; v1 moves, v1.0.0 stays', () => {
    const first = commitOf(work, 'v1.0.0');
    npm('version', '1.0.1', '--no-git-tag-version', '--offline');
    const second = commitAndPush([section('1.0.1'), section('1.0.0')]);
    const run = release('1.0.1');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("package.json's version is 1.0.1 already: no release commit");
    expect(run.stdout).toContain(`moved v1 to it from ${first.slice(0, 7)}`);
    expect(run.stdout).toContain('Not pushed. To publish: git push origin main && git push origin v1.0.1 && git push --force origin v1');
    expect(head()).toBe(second);
    expect(commitOf(work, 'v1.0.1')).toBe(second);
    expect(commitOf(work, 'v1')).toBe(second);
    expect(commitOf(work, 'v1.0.0')).toBe(first);
    // Nothing pushed: origin still has v1 on the first release, and no v1.0.1.
    expect(commitOf(remote, 'v1')).toBe(first);
    expect(git(remote, 'tag', '--list', 'v1.0.1')).toBe('');

    git(work, 'push', '--quiet', 'origin', 'main');
    git(work, 'push', '--quiet', 'origin', 'v1.0.1');
    git(work, 'push', '--quiet', '--force', 'origin', 'v1');
    expect([commitOf(remote, 'v1.0.1'), commitOf(remote, 'v1'), commitOf(remote, 'v1.0.0')]).toEqual([second, second, first]);
  }, 120_000);

  it('refuses when the committed dist/ is not a fresh build of the sources, and leaves the fresh one to commit', () => {
    // Whatever the bundler: a message main.ts logs at run time is in the bundle, so changing it must change
    // dist/. Any single-quoted string with a space, outside import and type lines, is such a message.
    const main = path.join(work, 'src', 'main.ts');
    const source = fs.readFileSync(main, 'utf8');
    const literal = source
      .split('\n')
      .filter((line) => !/^\s*(import|export \{|export \* from|type |interface )/.test(line))
      // Whole literals, left to right (so `'warning', title: 'x'` is two literals, not one with a space).
      .flatMap((line) => [...line.matchAll(/'[^'\\\n]*'/g)].map((m) => m[0]).filter((literal) => literal.includes(' ')))[0];
    expect(literal, 'a message in src/main.ts').toBeDefined();
    commitAndPush([section('1.0.2'), section('1.0.1'), section('1.0.0')], {
      'src/main.ts': source.replace(literal!, `${literal!.slice(0, -1)} (changed by the release test)'`),
    });
    const before = state();
    expectRefused(release('1.0.2'), 'dist/ is stale: a fresh npm run build changed it', before);
    expect(git(work, 'status', '--porcelain', '--', 'dist')).not.toBe('');
    expect(git(work, 'status', '--porcelain', '--', ':!dist')).toBe('');
    // Commit the fresh dist/ (as the message says to): release.sh's checks pass again up to the tag.
    git(work, 'add', '--all', 'dist');
    git(work, 'commit', '--quiet', '-m', 'Fresh dist/');
    git(work, 'push', '--quiet', 'origin', 'main');
  }, 120_000);

  it('refuses when the build fails, showing its output, and when it changes files outside dist/', () => {
    const before = state();
    const failing = spawnSync('bash', ['scripts/release.sh', '1.0.2'], {
      cwd: work,
      env: { ...env, RELEASE_BUILD_COMMAND: "echo 'src/main.ts(1,1): error TS1005' >&2; exit 1" },
      encoding: 'utf8',
    });
    expect(failing.status, failing.stderr).toBe(1);
    expect(failing.stderr.trim().split('\n')).toEqual([
      'src/main.ts(1,1): error TS1005',
      'Not releasing v1.0.2: npm run build failed (output above): fix it, commit, push, then release again',
    ]);
    expect(state()).toEqual(before);

    const writesOutside = spawnSync('bash', ['scripts/release.sh', '1.0.2'], {
      cwd: work,
      env: { ...env, RELEASE_BUILD_COMMAND: `${STUB_BUILD} && echo 'written by the build' >> README.md` },
      encoding: 'utf8',
    });
    expectRefused(writesOutside, 'npm run build changed files outside dist/ (git status shows them)', before);
    git(work, 'checkout', '--quiet', '--', 'README.md');
  });

  // The one test with the real `npm run build` (no RELEASE_BUILD_COMMAND): the committed dist/ (the
  // stand-in's) is not what ncc makes, so the release is refused, the real bundle is left to commit, and
  // nothing outside dist/ changed. Two ncc builds take minutes on a busy machine, so `npm test` leaves it
  // out and .ci/run runs it on its own (RELEASE_TEST_REAL_BUILD=1); the next test shows, without ncc,
  // that release.sh calls `npm run --silent build` when RELEASE_BUILD_COMMAND is unset.
  it.runIf(process.env.RELEASE_TEST_REAL_BUILD === '1')(
    'with the real npm run build: refuses a dist/ that is not what ncc builds, and leaves the bundle to commit',
    () => {
      // The build needs the installed packages: hard links to them (fast, no copy of the data); a symbolic
      // link would resolve to other module paths. The build writes one file under node_modules, its record
      // of the sources in .cache: that directory is left out, so the build writes a new file of the clone's
      // own rather than through a link into this repository's.
      execFileSync('cp', ['-al', path.join(root, 'node_modules'), path.join(work, 'node_modules')]);
      fs.rmSync(path.join(work, 'node_modules', '.cache'), { recursive: true, force: true });
      const before = state();
      expectRefused(releaseWithRealBuild('1.0.2'), 'dist/ is stale: a fresh npm run build changed it', before);
      expect(git(work, 'status', '--porcelain', '--', ':!dist')).toBe('');
      // What is left is ncc's bundle of both entries, not the stand-in's concatenated sources.
      expect(JSON.parse(fs.readFileSync(path.join(work, 'dist', 'package.json'), 'utf8'))).toEqual({ type: 'module' });
      expect(fs.existsSync(path.join(work, 'dist', 'status', 'index.js'))).toBe(true);
      expect(fs.readFileSync(path.join(work, 'dist', 'licenses.txt'), 'utf8')).toMatch(/^openai \d+\.\d+\.\d+$/m);
      git(work, 'checkout', '--quiet', '--', 'dist');
      git(work, 'clean', '--quiet', '-d', '--force', '--', 'dist');
    },
    600_000,
  );

  it('without RELEASE_BUILD_COMMAND, runs `npm run --silent build` (here an npm on PATH that records its calls)', () => {
    // An `npm` first on PATH that notes its arguments, runs the stand-in for `run --silent build`, and
    // hands every other call to the real npm.
    const bin = path.join(dir, 'bin');
    const calls = path.join(dir, 'npm-calls');
    fs.mkdirSync(bin, { recursive: true });
    const realNpm = execFileSync('bash', ['-c', 'command -v npm'], { env, encoding: 'utf8' }).trim();
    fs.writeFileSync(
      path.join(bin, 'npm'),
      `#!/bin/sh\necho "$*" >> '${calls}'\nif [ "$*" = "run --silent build" ]; then exec bash -c '${STUB_BUILD}'; fi\nexec '${realNpm}' "$@"\n`,
      { mode: 0o755 },
    );
    const run = spawnSync('bash', ['scripts/release.sh', '1.0.2'], {
      cwd: work,
      env: { ...env, PATH: `${bin}${path.delimiter}${env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const [build, ...rest] = fs.readFileSync(calls, 'utf8').trim().split('\n');
    expect(build).toBe('run --silent build');
    expect(rest).toEqual([expect.stringMatching(/^version 1\.0\.2 --no-git-tag-version/)]);
    expect(commitOf(work, 'v1.0.2')).toBe(head());
  });
});

describe('scripts/changelog.mjs', () => {
  const changelog = [
    '# Changelog',
    '',
    '## [Unreleased]',
    '',
    '## [1.2.0] - 2026-12-01',
    '',
    '### Added',
    '',
    '- A feature.',
    '',
    '```md',
    '## [9.9.9] - not a heading, in a code block',
    '```',
    '',
    '## [1.1.0] - 2026-11-01',
    '',
    '## [1.0.0](https://example.test/v1.0.0) - 2026-10-01',
    '',
    '- The first release.',
    '',
    '[1.2.0]: https://example.test/compare/v1.1.0...v1.2.0',
    '[1.0.0]: https://example.test/releases/v1.0.0',
    '',
  ].join('\r\n');

  it('returns the body of a section, without its heading, up to the next "## " heading, trimmed', () => {
    expect(changelogSection(changelog, '1.2.0')).toBe(
      '### Added\n\n- A feature.\n\n```md\n## [9.9.9] - not a heading, in a code block\n```',
    );
  });

  it("returns the last section to the end of the file, without the file's version links", () => {
    expect(changelogSection(changelog, '1.0.0')).toBe('- The first release.');
  });

  it('throws when there is no section, or when it is empty or undated', () => {
    expect(() => changelogSection(changelog, '2.0.0')).toThrow(
      "CHANGELOG.md has no section [2.0.0]: add one headed '## [2.0.0] - YYYY-MM-DD'",
    );
    expect(() => changelogSection(changelog, '1.2')).toThrow('has no section [1.2]');
    expect(() => changelogSection(changelog, '9.9.9')).toThrow('has no section [9.9.9]');
    expect(() => changelogSection(changelog, '1.1.0')).toThrow("CHANGELOG.md's section [1.1.0] is empty");
    expect(() => changelogSection('## [1.1.0] - 2026-11-01\n\n### Added\n\n', '1.1.0')).toThrow('is empty');
    expect(() => changelogSection('## [1.1.0]\n\n- Undated.\n', '1.1.0')).toThrow("CHANGELOG.md's section [1.1.0] has no date");
    expect(() => changelogSection('## [1.1.0] - 2026-11-01\n- a\n## [1.1.0] - 2026-11-02\n- b\n', '1.1.0')).toThrow(
      'has 2 sections [1.1.0]',
    );
  });

  it('prints the notes as a script, and exits 1 or 2 with one line on stderr otherwise', () => {
    const file = path.join(tempDir('changelog-test-'), 'CHANGES.md');
    fs.writeFileSync(file, changelog);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(root, 'scripts', 'changelog.mjs'), ...args], { encoding: 'utf8' });
    expect(run('1.0.0', file)).toMatchObject({ status: 0, stdout: '- The first release.\n', stderr: '' });
    expect(run('1.1.0', file)).toMatchObject({
      status: 1,
      stdout: '',
      stderr: "CHANGES.md's section [1.1.0] is empty: list the release's changes under it\n",
    });
    expect(run('v1.0.0', file)).toMatchObject({ status: 2, stderr: 'usage: node scripts/changelog.mjs X.Y.Z [CHANGELOG.md]\n' });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});

describe('.github/workflows/release.yml', () => {
  type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
  type Job = { permissions?: unknown; steps: Step[]; env?: Record<string, string>; 'timeout-minutes'?: number };
  const workflows = path.join(root, '.github', 'workflows');
  const read = (file: string) =>
    parse(fs.readFileSync(path.join(workflows, file), 'utf8')) as Record<string, unknown> & { jobs: Record<string, Job> };
  const workflow = read('release.yml');
  const jobs = Object.values(workflow.jobs);
  const steps = jobs.flatMap((job) => job.steps);
  const runs = steps.map((step) => step.run ?? '').join('\n');

  it('runs on a pushed vX.Y.Z tag, reads by default and writes contents only in its job, one release at a time', () => {
    expect(workflow.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } });
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(jobs.map((job) => job.permissions)).toEqual([{ contents: 'write' }]);
    expect(workflow.concurrency).toBeTruthy();
    expect(jobs[0]?.['timeout-minutes']).toBeGreaterThan(0);
    expect(jobs[0]?.env?.TAG).toBe('${{ github.ref_name }}');
  });

  it('checks out and sets up Node as CI does, rebuilds dist/, checks the version, and releases with the changelog notes', () => {
    const ci = read('ci.yml');
    const ciSteps = Object.values(ci.jobs).flatMap((job) => job.steps);
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    const setupNode = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(checkout?.uses).toBe(ciSteps.find((s) => s.uses?.startsWith('actions/checkout@'))?.uses);
    expect(checkout?.with).toEqual({ 'persist-credentials': false });
    expect(setupNode?.uses).toBe(ciSteps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.uses);
    expect(setupNode?.with).toEqual({ 'node-version-file': '.node-version' });

    expect(runs).toContain('npm ci');
    expect(runs).toMatch(/npm run build\n\s*if \[ -n "\$\(git status --porcelain -- dist\)" \]; then\n\s*echo "::error /);
    expect(runs).toContain(`version="$(node -p "require('./package.json').version")"`);
    expect(runs).toContain('if [ "$version" != "${TAG#v}" ]; then');
    expect(runs).toContain('node scripts/changelog.mjs "$VERSION" > "$RUNNER_TEMP/notes.md"');
    const create = steps.find((s) => s.run?.includes('gh release create'));
    expect(create?.run).toContain('gh release create "$TAG" --verify-tag --title "$TAG" --notes-file "$RUNNER_TEMP/notes.md"');
    expect(create?.env?.GH_TOKEN).toBe('${{ github.token }}');
    expect(steps.at(-1)).toBe(create);
    // Values reach the scripts through env:, never as ${{ }} pasted into them.
    expect(runs).not.toContain('${{');
  });

  it('every workflow pins each action by a full SHA named after an exact release, the same SHA everywhere', () => {
    const pins = new Map<string, string>();
    for (const file of fs.readdirSync(workflows).filter((f) => /\.ya?ml$/.test(f))) {
      for (const line of fs.readFileSync(path.join(workflows, file), 'utf8').split('\n')) {
        const use = /^\s*(?:- )?uses: ([\w-]+\/[\w.-]+)(\/[\w./-]+)?@(\S+)(.*)$/.exec(line);
        if (!use) continue;
        expect(`${use[3]}${use[4]}`, `${file}: ${line.trim()}`).toMatch(/^[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
        const pin = `${use[3]}${use[4]}`;
        expect(pins.get(use[1]!) ?? pin, `${file}: ${use[1]} pinned as elsewhere`).toBe(pin);
        pins.set(use[1]!, pin);
      }
    }
    expect([...pins.keys()].sort()).toEqual(['actions/checkout', 'actions/setup-node', 'actions/upload-artifact', 'github/codeql-action']);
  });
});
