import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/certs.ts';

// scripts/release.sh run for real: in a clone of this repository, pushing to a bare repository that
// stands in for GitHub.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let work: string;
let remote: string;

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const release = (...args: string[]) => spawnSync('bash', ['scripts/release.sh', ...args], { cwd: work, encoding: 'utf8' });
const remoteTag = (tag: string): string => git(remote, 'rev-parse', `${tag}^{commit}`);

function commitChangelogSection(version: string): string {
  const file = path.join(work, 'CHANGELOG.md');
  const text = fs.readFileSync(file, 'utf8').replace('## [Unreleased]', `## [Unreleased]\n\n## [${version}] - 2026-11-29`);
  fs.writeFileSync(file, text);
  git(work, 'commit', '-qam', `Release ${version}`);
  return git(work, 'rev-parse', 'HEAD');
}

beforeAll(() => {
  dir = tempDir('release-test-');
  remote = path.join(dir, 'remote.git');
  work = path.join(dir, 'work');
  git(dir, 'init', '-q', '--bare', remote);
  git(dir, 'clone', '-q', '--no-hardlinks', root, work);
  git(work, 'checkout', '-q', '-B', 'main');
  git(work, 'remote', 'set-url', 'origin', remote);
  git(work, 'config', 'user.name', 'Release Test');
  git(work, 'config', 'user.email', 'release-test@example.test');
  // The build needs the installed packages: a copy (a symbolic link would give the bundler other
  // module paths, and so another bundle than the committed one).
  execFileSync('cp', ['-a', path.join(root, 'node_modules'), path.join(work, 'node_modules')]);
  git(work, 'push', '-q', 'origin', 'main');
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scripts/release.sh', () => {
  it('refuses a version the changelog has no section for, tagging nothing', () => {
    const run = release('1.0.0');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('CHANGELOG.md has no section [1.0.0]');
    expect(git(work, 'tag', '--list')).toBe('');
  });

  it('refuses a malformed version and a dirty tree', () => {
    expect(release('1.0').status).toBe(2);
    fs.appendFileSync(path.join(work, 'README.md'), '\nstray edit\n');
    const run = release('1.0.0');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the work tree is not clean');
    git(work, 'checkout', '-q', '--', 'README.md');
  });

  it('tags vX.Y.Z, moves vX, and pushes both; the next release moves vX and leaves the old tag', () => {
    const first = commitChangelogSection('1.0.0');
    const run = release('1.0.0', '--push');
    expect(run.stderr).not.toMatch(/error|fatal/i);
    expect(run.status).toBe(0);
    expect(remoteTag('v1.0.0')).toBe(first);
    expect(remoteTag('v1')).toBe(first);

    expect(release('1.0.0').stderr).toContain('v1.0.0 exists already');

    const second = commitChangelogSection('1.0.1');
    expect(release('1.0.1', '--push').status).toBe(0);
    expect(remoteTag('v1')).toBe(second);
    expect(remoteTag('v1.0.1')).toBe(second);
    expect(remoteTag('v1.0.0')).toBe(first);
  }, 60_000);

  it('refuses when the committed dist/ is not a fresh build of the sources', () => {
    fs.appendFileSync(path.join(work, 'src', 'index.ts'), '\nexport const releaseTestMarker = 1;\n');
    commitChangelogSection('1.0.2');
    const run = release('1.0.2');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('dist/ is stale');
    expect(git(work, 'tag', '--list', 'v1.0.2')).toBe('');
  }, 60_000);
});
