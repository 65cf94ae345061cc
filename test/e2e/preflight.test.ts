/**
 * The preflight rules through the compiled action (dist/index.js) against the emulator: a failing
 * rule is an error annotation titled with the check name, a failed row in the summary, exit code 1
 * and not a single request to the API. The unit tests in test/certificate/ own the rules, every input
 * and every message; here each kind of preflight outcome is run once through the compiled action: each
 * rule's refusal, a profile rule as an error and as a warning, a validity warning, a dry run, a private
 * key (as PEM, as base64, in a dry run), and a few of the accepted encodings (inline, base64, binary
 * file, UTF-16 file).
 */
import * as path from 'node:path';
import { beforeAll, describe, type ExpectStatic } from 'vitest';
import { CHECK_NAMES, type CheckName } from '../../src/certificate/checks.js';
import type { Emulator } from '../emulator/emulator.ts';
import { leaks, runAction, type ActionRun } from '../helpers/action.ts';
import { fixedClockEnv } from '../helpers/clock.ts';
import { makeCa, makeDatedCa, makeLeaf, type MadeCertificate } from '../helpers/certs.ts';
import { chainOfTwo, encodingsOf, makeHugeCa, secretLines } from '../certificate/fixtures.ts';
import { serverTest as it } from '../helpers/servers.ts';

const adminKey = 'sk-admin-emulator-test-key';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function inputs(emu: Emulator, extra: Record<string, string>): Record<string, string> {
  return { 'admin-api-key': adminKey, 'base-url': emu.baseURL, ...extra };
}

/** The summary row of a check, e.g. "| `x509` | ❌ fail | ... |". */
function row(run: ActionRun, name: CheckName): string {
  const line = run.summary.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  if (!line) throw new Error(`no summary row for ${name} in:\n${run.summary}`);
  return line;
}

function rowStatus(run: ActionRun, name: CheckName): string {
  return row(run, name).split(' | ')[1] ?? '';
}

/** The run failed on `name`: exit 1, an error annotation titled with it, its row failed, nothing sent. */
function expectRefused(
  expect: ExpectStatic,
  emu: Emulator,
  run: ActionRun,
  name: CheckName,
  message: RegExp,
  { stops = false, input = '' } = {},
): void {
  expect(run.code, `${input}\n${run.stdout}`).toBe(1);
  const errors = run.annotations.filter((a) => a.level === 'error');
  const annotation = errors.find((a) => a.title === name);
  expect(annotation, `${input}\n${JSON.stringify(run.annotations)}`).toBeDefined();
  expect(annotation!.message, input).toMatch(message);
  expect(rowStatus(run, name)).toBe('❌ fail');
  if (stops) {
    const at = CHECK_NAMES.indexOf(name);
    for (const earlier of CHECK_NAMES.slice(0, at)) expect(rowStatus(run, earlier)).toBe('✅ pass');
    for (const later of CHECK_NAMES.slice(at + 1))
      expect({ later, status: rowStatus(run, later) }).toEqual({ later, status: '➖ not run' });
    // The other annotations are about nothing else: one error, no warnings.
    expect(run.annotations.map((a) => a.title)).toEqual([name]);
  }
  expect(emu.requests).toEqual([]);
  expect(run.outputs.uploaded).toBe('false');
  expect(run.outputs['certificate-id']).toBe('');
  expect(run.summary).toMatch(new RegExp(`Failed: .*${name}.* failed; nothing was sent to OpenAI`));
  expect(run.everything).not.toMatch(/\n\s+at /);
  expect(run.stderr).toBe('');
}

function uploads(emu: Emulator): { certificate: string; name?: string }[] {
  return emu.requests
    .filter((r) => r.method === 'POST' && r.path === '/v1/organization/certificates')
    .map((r) => r.body as { certificate: string });
}

let ca: MadeCertificate;
beforeAll(() => {
  ca = makeCa({ cn: 'Preflight E2E CA', days: 400 });
});

describe.concurrent('compiled action: each preflight rule refuses before anything is sent', () => {
  it('source: a missing certificate-file names the path', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(inputs(emu, { 'certificate-file': 'pki/missing-ca.pem' }));
    expectRefused(
      expect,
      emu,
      run,
      'source',
      /certificate-file "pki\/missing-ca\.pem" \(.*pki\/missing-ca\.pem\) does not exist\. The path is relative to GITHUB_WORKSPACE/,
      { stops: true },
    );
    expect(run.annotations[0]!.message).toContain(path.join(run.workspace, 'pki/missing-ca.pem'));
  });

  it('decoding: text that is no certificate', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(inputs(emu, { certificate: 'my-ca-certificate-goes-here' }));
    expectRefused(
      expect,
      emu,
      run,
      'decoding',
      /No certificate found: the input is not PEM, base64 of a PEM, or DER\. Pass the CA certificate in PEM/,
      {
        stops: true,
      },
    );
  });

  it('single-certificate: a chain of two, naming how many and their subjects', async ({ emulator, expect }) => {
    const emu = await emulator();
    const chain = chainOfTwo('E2E Chain Root');
    const run = await runAction(inputs(emu, { certificate: chain.pem }));
    expectRefused(
      expect,
      emu,
      run,
      'single-certificate',
      /The input holds 2 certificates \(a chain or bundle\): 1\. CN=chain-leaf\.example\.test; 2\. CN=E2E Chain Root, O=Example Test\. Upload one CA certificate/,
      { stops: true },
    );
  });

  it('x509: a CERTIFICATE block that does not parse', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(
      inputs(emu, {
        certificate: `-----BEGIN CERTIFICATE-----\n${Buffer.from('this is not DER, only text in base64').toString('base64')}\n-----END CERTIFICATE-----`,
      }),
    );
    expectRefused(expect, emu, run, 'x509', /The CERTIFICATE block does not parse as X\.509 \(.+\)\. The base64 may be truncated/, {
      stops: true,
    });
  });

  it('ca-basic-constraints: a leaf, with the message that OpenAI needs the issuing CA (even when not strict)', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const leaf = makeLeaf(ca, 'service.example.test');
    const run = await runAction(inputs(emu, { certificate: leaf.pem, strict: 'false' }));
    expectRefused(
      expect,
      emu,
      run,
      'ca-basic-constraints',
      /CN=service\.example\.test is not a CA certificate \(basicConstraints CA:FALSE\).*OpenAI needs the CA that issues your client certificates \(this one was issued by CN=Preflight E2E CA, O=Example Test\)\. Upload the issuing CA's certificate instead\./,
    );
    expect(run.annotations.find((a) => a.title === 'ca-basic-constraints')!.message).toContain(
      '-addext "basicConstraints=critical,CA:TRUE"',
    );
    // The certificate parsed, so the later rules ran and the summary shows it.
    expect(rowStatus(run, 'validity')).toBe('✅ pass');
    expect(run.summary).toContain('CN=service.example.test');
  });

  // The profile rules (subject-key-identifier, authority-key-identifier, key-usage) share one path: strict
  // makes them errors, strict: false warnings. One rule is run each way.
  it('key-usage: an error by default (strict), with the openssl -addext line', async ({ emulator, expect }) => {
    const emu = await emulator();
    const cert = makeCa({ cn: 'No key-usage CA', keyUsage: 'critical,keyCertSign' });
    const run = await runAction(inputs(emu, { certificate: cert.pem }));
    expectRefused(expect, emu, run, 'key-usage', /Key Usage lacks cRLSign \(CRL Sign\)/);
    expect(run.annotations.find((a) => a.title === 'key-usage')!.message).toContain('-addext "keyUsage=critical,keyCertSign,cRLSign"');
    expect(rowStatus(run, 'validity')).toBe('✅ pass');
  });

  it('subject-key-identifier: a warning with strict: false, and the upload happens', async ({ emulator, expect }) => {
    const emu = await emulator();
    const cert = makeCa({ cn: 'Lenient subject-key-identifier CA', subjectKeyIdentifier: 'none', authorityKeyIdentifier: 'none' });
    const run = await runAction(inputs(emu, { certificate: cert.pem, strict: 'false' }));
    expect(run.code, run.stdout).toBe(0);
    const warning = run.annotations.find((a) => a.title === 'subject-key-identifier');
    expect(warning).toMatchObject({ level: 'warning', message: expect.stringMatching(/no Subject Key Identifier/) });
    expect(warning!.message).toContain('-addext "subjectKeyIdentifier=hash"');
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(rowStatus(run, 'subject-key-identifier')).toBe('⚠️ warning');
    expect(uploads(emu)).toEqual([{ certificate: cert.pem }]);
    expect(run.outputs.uploaded).toBe('true');
  });

  it('validity: an expired CA', async ({ emulator, expect }) => {
    const emu = await emulator();
    const expired = await makeDatedCa(new Date(Date.now() - 300 * DAY), new Date(Date.now() - DAY), 'Expired E2E CA');
    const run = await runAction(inputs(emu, { certificate: expired.pem }));
    expectRefused(expect, emu, run, 'validity', /The certificate expired on .*Z\. Issue a new CA certificate/);
  });

  it('validity: a CA expiring exactly min-validity-days from now is refused (the bound is inclusive); a second more passes', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    // The action's clock is held at a whole second (test/helpers/clock.ts), so the time that passes between
    // making the certificate and checking it cannot move the expiry off the bound.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const exact = await makeDatedCa(new Date(now - DAY), new Date(now + 30 * DAY), 'Thirty Days E2E CA');
    expect(exact.notAfter.getTime()).toBe(now + 30 * DAY);
    const atBound = await runAction(inputs(emu, { certificate: exact.pem, 'min-validity-days': '30' }), { env: fixedClockEnv(now) });
    expectRefused(expect, emu, atBound, 'validity', /expires on .*Z, in (29|30) days: within min-validity-days \(30\)\./);
    // One second earlier, the certificate has 30 days and a second left: it passes (and is not "expiring soon").
    const secondMore = await runAction(inputs(emu, { certificate: exact.pem, 'min-validity-days': '30' }), {
      env: fixedClockEnv(now - 1000),
    });
    expect(secondMore.code, secondMore.stdout).toBe(0);
    expect(rowStatus(secondMore, 'validity')).toBe('✅ pass');
    expect(uploads(emu)).toEqual([{ certificate: exact.pem }]);
  });

  it('validity: 10 days left is a warning annotation, and the upload happens', async ({ emulator, expect }) => {
    const emu = await emulator();
    const tenDays = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY), 'Ten Days E2E CA');
    const run = await runAction(inputs(emu, { certificate: tenDays.pem }));
    expect(run.code, run.stdout).toBe(0);
    expect(run.annotations).toEqual([
      expect.objectContaining({
        level: 'warning',
        title: 'validity',
        message: expect.stringMatching(/expires soon: .* \(warn-validity-days is 30\)\. Plan its rotation/),
      }),
    ]);
    expect(rowStatus(run, 'validity')).toBe('⚠️ warning');
    expect(uploads(emu)).toEqual([{ certificate: tenDays.pem }]);
  });

  it('size: a CA over 16 KB', async ({ emulator, expect }) => {
    const emu = await emulator();
    const huge = makeHugeCa();
    const run = await runAction(inputs(emu, { certificate: huge.pem }));
    expectRefused(
      expect,
      emu,
      run,
      'size',
      new RegExp(
        `The PEM is ${Buffer.byteLength(huge.pem)} bytes; OpenAI accepts certificates under 16 KB \\(16,384 bytes\\)\\. Issue the CA with fewer extensions`,
      ),
    );
    expect(run.annotations.map((a) => a.title)).toEqual(['size']);
  });

  it('a dry run applies the same checks: an error exits 1, without an admin key too, and sends nothing', async ({ emulator, expect }) => {
    const emu = await emulator();
    const leaf = makeLeaf(ca);
    const withoutKey = await runAction(
      { certificate: leaf.pem, 'dry-run': 'true', 'base-url': emu.baseURL },
      { env: { OPENAI_ADMIN_KEY: undefined } },
    );
    expectRefused(expect, emu, withoutKey, 'ca-basic-constraints', /is not a CA certificate/);
  });

  it('a dry run of a conforming CA exits 0 (and only reads)', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(inputs(emu, { certificate: ca.pem, 'dry-run': 'true' }));
    expect(run.code, run.stdout).toBe(0);
    expect(emu.requests.every((r) => r.method === 'GET')).toBe(true);
    for (const name of CHECK_NAMES) expect(rowStatus(run, name)).toBe('✅ pass');
  });
});

describe.concurrent('compiled action: a private key in the input', () => {
  /** Every key line is masked before any other line is written, and appears nowhere a person can read. */
  function expectKeyMasked(expect: ExpectStatic, run: ActionRun, keyPem: string): void {
    const lines = secretLines(keyPem).filter((l) => l.length >= 8);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(run.masked).toContain(line);
    expect(leaks(run, [keyPem])).toEqual([]);
    const out = run.stdout.split('\n');
    const firstOther = out.findIndex((l) => l && !l.startsWith('::add-mask::'));
    const lastKeyMask = Math.max(...lines.map((l) => out.indexOf(`::add-mask::${l}`)));
    expect(lastKeyMask).toBeGreaterThanOrEqual(0);
    expect(firstOther === -1 || lastKeyMask < firstOther).toBe(true);
  }

  it('certificate and key together (the CA key itself): refused, masked line by line, never shown', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(inputs(emu, { certificate: ca.pem + ca.keyPem }));
    expectRefused(
      expect,
      emu,
      run,
      'private-key',
      /The input contains a private key \(PRIVATE KEY\)\. Nothing was sent, and the key is not shown\. Only the CA certificate is uploaded: remove the key/,
      { stops: true },
    );
    expectKeyMasked(expect, run, ca.keyPem);
  });

  it('base64 of a PEM holding a key: refused, the key and the base64 text masked', async ({ emulator, expect }) => {
    const emu = await emulator();
    const b64 = Buffer.from(ca.pem + ca.keyPem).toString('base64');
    const run = await runAction(inputs(emu, { certificate: b64 }));
    expectRefused(expect, emu, run, 'private-key', /private key \(PRIVATE KEY\)/, { stops: true });
    expectKeyMasked(expect, run, ca.keyPem);
    expect(run.masked).toContain(b64);
    expect(leaks(run, [b64])).toEqual([]);
  });

  it('a dry run with a key in the input is refused the same way', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(
      { certificate: ca.pem + ca.keyPem, 'dry-run': 'true', 'base-url': emu.baseURL },
      { env: { OPENAI_ADMIN_KEY: undefined } },
    );
    expectRefused(expect, emu, run, 'private-key', /private key/, { stops: true });
    expectKeyMasked(expect, run, ca.keyPem);
  });
});

describe.concurrent('compiled action: accepted encodings upload the same clean PEM', () => {
  // Inline inputs go through environment variables (no NUL bytes; the runner trims them), so binary
  // and byte-order-mark forms are given as files, as they would be in practice.
  const asFile = /DER$|DER with|byte-order mark|UTF-16/;
  let encodings: Record<string, string | Buffer>;
  beforeAll(() => {
    encodings = encodingsOf(ca);
  });

  // One of each way in: text inline, base64 inline, a binary file, a file in another text encoding (the
  // unit tests in test/certificate/decode.test.ts decode every encoding encodingsOf makes).
  for (const name of [
    'openssl x509 -text output',
    'base64 of the PEM, one line',
    'DER',
    'PEM in UTF-16LE with a byte-order mark (Windows PowerShell)',
  ]) {
    it(name, async ({ emulator, expect }) => {
      const emu = await emulator();
      const input = encodings[name];
      expect(input, `encodingsOf makes "${name}"`).toBeDefined();
      const run =
        asFile.test(name) || Buffer.isBuffer(input)
          ? await runAction(inputs(emu, { 'certificate-file': 'certs/ca.input' }), { files: { 'certs/ca.input': input! } })
          : await runAction(inputs(emu, { certificate: input! }));
      expect(run.code, run.stdout).toBe(0);
      expect(run.annotations).toEqual([]);
      expect(uploads(emu)).toEqual([{ certificate: ca.pem }]);
      expect(run.outputs.fingerprint).toBe(ca.fingerprint);
      for (const check of CHECK_NAMES) expect(rowStatus(run, check)).toBe('✅ pass');
    });
  }
});
