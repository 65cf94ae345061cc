// What dist/ is built from, as one SHA-256: every file under src/, the lock file and the build script.
// scripts/build.mjs records it after a build (in node_modules/.cache, never committed); the end-to-end
// tests compare it with the sources they see, and refuse to run a bundle built from other sources.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const STAMP = path.join('node_modules', '.cache', 'openai-mtls-certificate-action', 'dist-sources.sha256');

export function sourceHash(root) {
  const files = [
    ...fs
      .readdirSync(path.join(root, 'src'), { recursive: true })
      .map((f) => path.join('src', String(f)))
      .filter((f) => fs.statSync(path.join(root, f)).isFile()),
    'package-lock.json',
    path.join('scripts', 'build.mjs'),
  ].sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file.split(path.sep).join('/')}\0`).update(fs.readFileSync(path.join(root, file)));
  return hash.digest('hex');
}

/** Undefined when dist/ was built from the sources as they are now; else what is wrong, in words. */
export function staleDist(root) {
  const stampFile = path.join(root, STAMP);
  if (!fs.existsSync(path.join(root, 'dist', 'index.js')) || !fs.existsSync(stampFile)) return 'dist/ has not been built here';
  return fs.readFileSync(stampFile, 'utf8').trim() === sourceHash(root)
    ? undefined
    : 'dist/ was built from other sources than src/ now holds';
}
