import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_NAMES, runPreflight } from '../../src/certificate/checks.ts';
import { ROOT, runAction } from '../helpers/action.ts';
import { tempDir } from '../helpers/certs.ts';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The ```sh block right after the <!-- ca-recipe --> marker, exactly as the README prints it. */
function recipe(): string {
  const marker = readme.indexOf('<!-- ca-recipe');
  expect(marker).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker));
  expect(block).not.toBeNull();
  return block![1]!;
}

describe('"Make a CA that OpenAI accepts", run as the README prints it', () => {
  const dir = tempDir('ca-recipe-');
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', recipe()], { cwd: dir, encoding: 'utf8' });

  it('runs without an error, and the client certificate verifies against the CA', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('client.pem: OK');
    for (const file of ['ca.pem', 'ca.key', 'client.pem', 'client.key']) expect(fs.existsSync(path.join(dir, file)), file).toBe(true);
  });

  it("makes a CA that passes every one of the action's preflight checks", () => {
    const preflight = runPreflight(fs.readFileSync(path.join(dir, 'ca.pem')), {
      strict: true,
      minValidityDays: 1,
      warnValidityDays: 30,
      now: new Date(),
      mask: () => undefined,
    });
    expect(preflight.checks.map((c) => [c.name, c.status])).toEqual(CHECK_NAMES.map((name) => [name, 'pass']));
    expect(preflight.certificate?.subject).toBe('CN=Example mTLS CA 2027, O=Example');
  });

  it('and the compiled action, in a dry run, agrees: 11 of 11 checks pass, nothing sent', async () => {
    const action = await runAction({ 'certificate-file': path.join(dir, 'ca.pem'), 'dry-run': 'true' });
    expect(action.code).toBe(0);
    expect(action.stdout).toContain('Preflight: 11 of 11 checks pass; 0 fail, 0 warn.');
    expect(action.annotations).toEqual([]);
  });

  it("a plain openssl req -x509 CA, without the recipe's extensions, is refused (the recipe is what makes it pass)", () => {
    const plain = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'plain.key',
        '-out',
        'plain.pem',
        '-days',
        '30',
        '-subj',
        '/CN=Plain',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(plain.status).toBe(0);
    const preflight = runPreflight(fs.readFileSync(path.join(dir, 'plain.pem')), {
      strict: true,
      minValidityDays: 1,
      warnValidityDays: 1,
      now: new Date(),
      mask: () => undefined,
    });
    expect(preflight.checks.find((c) => c.name === 'key-usage')?.status).toBe('fail');
  });
});
