// Writes dist/licenses.txt: the licence of every package the bundle can contain (the production
// dependencies, transitively), sorted by name. A bundler's own licence output lists only what it
// bundled, which depends on chunking and tree-shaking; this list does not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Node's lookup: node_modules/<name> next to `from`, then in each parent folder up to the root. */
function locate(name, from) {
  for (let dir = from; dir.startsWith(root); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root) break;
  }
  return undefined;
}

const found = new Map();
function visit(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const key = `${manifest.name}@${manifest.version}`;
  if (found.has(key)) return;
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  found.set(key, {
    name: manifest.name,
    version: manifest.version,
    license: manifest.license ?? 'UNKNOWN',
    text: file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : '',
  });
  const deps = { ...manifest.dependencies, ...manifest.optionalDependencies };
  for (const name of Object.keys(deps)) {
    const child = locate(name, dir);
    if (child) visit(child);
  }
}

const rootManifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const name of Object.keys(rootManifest.dependencies ?? {})) {
  const dir = locate(name, root);
  if (!dir) throw new Error(`dependency ${name} is not installed: run npm ci`);
  visit(dir);
}

const entries = [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
const text = entries.map((e) => `${e.name} ${e.version}\n${e.license}\n${e.text || '(no licence file in the package)'}\n`).join('\n');
fs.writeFileSync(path.join(root, 'dist', 'licenses.txt'), text);
console.log(`dist/licenses.txt: ${entries.length} packages`);
