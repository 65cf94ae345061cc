import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/action.ts';
import { makeCa, tempDir } from '../helpers/certs.ts';
// @ts-expect-error: a plain .mjs script without types
import { STAMP, sourceHash, staleDist } from '../../scripts/source-hash.mjs';

const dist = path.join(ROOT, 'dist');
const read = (file: string): string => fs.readFileSync(path.join(dist, file), 'utf8');
const chunks = (dir = dist): string[] => fs.readdirSync(dir).filter((f) => /^\d+\.index\.js$/.test(f));
const chunkWith = (marker: string): string | undefined => chunks().find((f) => read(f).includes(marker));

describe('dist/, as ncc builds it', () => {
  it.each([
    ['action.yml', 'index.js'],
    ['status/action.yml', 'status/index.js'],
  ])('%s runs node24 on its own entry, ES modules with no source-map registration', (yml, entryFile) => {
    const action = parse(fs.readFileSync(path.join(ROOT, yml), 'utf8')) as { runs: { using: string; main: string } };
    expect(action.runs.using).toBe('node24');
    expect(path.resolve(ROOT, path.dirname(yml), action.runs.main)).toBe(path.join(dist, entryFile));
    expect(JSON.parse(read(path.join(path.dirname(entryFile), 'package.json')))).toEqual({ type: 'module' });
    const entry = read(entryFile);
    expect(entry).toMatch(/^import /m);
    expect(entry).not.toMatch(/sourcemap-register|source-map-support|SourceMapConsumer/);
    // Packages keep their own sourceMappingURL comments inside the bundle; the bundle itself names no map.
    expect(entry.trimEnd().split('\n').at(-1)).not.toMatch(/sourceMappingURL/);
    expect(fs.readdirSync(path.join(dist, path.dirname(entryFile))).filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('the status entry holds no code that writes: not the API class with writes, nor upload, apply or delete', () => {
    const markers = ['class CertificateApi ', 'function uploadOnce(', 'function activateAll(', 'function deleteCertificate('];
    const main = read('index.js');
    const status = read('status/index.js');
    for (const marker of markers) {
      expect(main, marker).toContain(marker);
      expect(status, marker).not.toContain(marker);
    }
    expect(status).toContain('class CertificateReader ');
  });

  it('keeps Octokit (the comment) in a chunk of its own, loaded by dynamic import() only', () => {
    const entry = read('index.js');
    const octokit = chunkWith('getOctokit');
    expect(octokit).toBeDefined();
    expect(entry).not.toContain('getOctokit');
    // Chunks are loaded by dynamic import() only, never statically.
    expect(entry).not.toMatch(/^import .*\d+\.index\.js/m);
  });

  it.each([
    ['index.js', ''],
    ['status/index.js', 'status'],
  ])('%s ships one undici, 7.x, for every package (package.json overrides it)', (entryFile, dir) => {
    // Each copy of undici defines its own ConnectTimeoutError; @actions/core's http client, @actions/github
    // and the proxy or client-certificate path (undici 7's Socks5ProxyAgent) all use the one copy.
    const files = [entryFile, ...chunks(path.join(dist, dir)).map((f) => path.join(dir, f))];
    const copies = files.filter((f) => read(f).includes('class ConnectTimeoutError'));
    expect(copies).toEqual([entryFile]);
    expect(files.filter((f) => read(f).includes('Socks5ProxyAgent'))).toEqual([entryFile]);
    expect(read('licenses.txt').match(/^undici \d+\.\d+\.\d+$/gm)).toEqual([expect.stringMatching(/^undici 7\./)]);
  });

  it('runs a plain dry run without any chunk: they really are loaded only when needed', () => {
    const copy = tempDir('dist-copy-');
    fs.cpSync(dist, copy, { recursive: true });
    for (const chunk of chunks(copy)) fs.rmSync(path.join(copy, chunk));
    const ca = makeCa({ cn: 'Chunkless CA' });
    const runner = tempDir('dist-runner-');
    fs.writeFileSync(path.join(runner, 'output'), '');
    const run = spawnSync(process.execPath, [path.join(copy, 'index.js')], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        GITHUB_OUTPUT: path.join(runner, 'output'),
        'INPUT_CERTIFICATE-FILE': ca.certPath,
        'INPUT_DRY-RUN': 'true',
      },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Dry run without an admin key');
  });

  it('lists the licence of every bundled package in dist/licenses.txt', () => {
    const licences = read('licenses.txt');
    for (const name of ['@actions/core', '@actions/github', 'openai', 'undici', '@octokit/core']) {
      expect(licences, name).toMatch(new RegExp(`^${name.replace('/', '\\/')} \\d+\\.\\d+\\.\\d+\\n\\S+\\n`, 'm'));
    }
    // asn1js reads certificates in the tests only (src/certificate/der.ts reads them in the action).
    expect(licences).not.toMatch(/^asn1js /m);
  });
});

describe('the end-to-end tests refuse a stale bundle', () => {
  function project(): string {
    const dir = tempDir('stale-');
    fs.mkdirSync(path.join(dir, 'src', 'api'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'src', 'index.ts'), 'export {};\n');
    fs.writeFileSync(path.join(dir, 'src', 'api', 'client.ts'), 'export const a = 1;\n');
    fs.writeFileSync(path.join(dir, 'package-lock.json'), '{}\n');
    fs.writeFileSync(path.join(dir, 'scripts', 'build.mjs'), '\n');
    fs.writeFileSync(path.join(dir, 'dist', 'index.js'), '\n');
    return dir;
  }
  const stamp = (dir: string): void => {
    fs.mkdirSync(path.dirname(path.join(dir, STAMP)), { recursive: true });
    fs.writeFileSync(path.join(dir, STAMP), `${sourceHash(dir)}\n`);
  };

  it('accepts dist/ built from the sources as they are', () => {
    const dir = project();
    stamp(dir);
    expect(staleDist(dir)).toBeUndefined();
  });

  it('refuses when no build was recorded, when a source changed, and when a source was added', () => {
    const dir = project();
    expect(staleDist(dir)).toBe('dist/ has not been built here');
    stamp(dir);
    fs.appendFileSync(path.join(dir, 'src', 'api', 'client.ts'), 'export const b = 2;\n');
    expect(staleDist(dir)).toMatch(/built from other sources/);
    stamp(dir);
    fs.writeFileSync(path.join(dir, 'src', 'new.ts'), 'export {};\n');
    expect(staleDist(dir)).toMatch(/built from other sources/);
  });

  it('the committed dist/ was built from these sources (npm test builds it first)', () => {
    expect(staleDist(ROOT)).toBeUndefined();
  });
});
