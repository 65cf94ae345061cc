/**
 * The preflight rules through the compiled action (dist/index.js) against the emulator: a failing
 * rule is an error annotation titled with the check name, a failed row in the summary, exit code 1
 * and not a single request to the API.
 */
import * as path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHECK_NAMES, type CheckName } from '../../src/certificate/checks.js';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { leaks, runAction, type ActionRun } from '../helpers/action.ts';
import { fixedClockEnv } from '../helpers/clock.ts';
import { makeCa, makeDatedCa, makeLeaf, type MadeCertificate } from '../helpers/certs.ts';
import { chainOfTwo, encodingsOf, makeHugeCa, notCertificates, privateKeys, secretLines } from '../certificate/fixtures.ts';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

const adminKey = 'sk-admin-emulator-test-key';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function inputs(extra: Record<string, string>): Record<string, string> {
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
function expectRefused(run: ActionRun, name: CheckName, message: RegExp, { stops = false, input = '' } = {}): void {
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

function uploads(): { certificate: string; name?: string }[] {
  return emu.requests
    .filter((r) => r.method === 'POST' && r.path === '/v1/organization/certificates')
    .map((r) => r.body as { certificate: string });
}

let ca: MadeCertificate;
beforeAll(() => {
  ca = makeCa({ cn: 'Preflight E2E CA', days: 400 });
});

describe('compiled action: each preflight rule refuses before anything is sent', () => {
  it('source: a missing certificate-file names the path', async () => {
    const run = await runAction(inputs({ 'certificate-file': 'pki/missing-ca.pem' }));
    expectRefused(
      run,
      'source',
      /certificate-file "pki\/missing-ca\.pem" \(.*pki\/missing-ca\.pem\) does not exist\. The path is relative to GITHUB_WORKSPACE/,
      { stops: true },
    );
    expect(run.annotations[0]!.message).toContain(path.join(run.workspace, 'pki/missing-ca.pem'));
  });

  it('source: a directory names the path', async () => {
    const run = await runAction(inputs({ 'certificate-file': 'pki' }), { files: { 'pki/ca.pem': ca.pem } });
    expectRefused(
      run,
      'source',
      /certificate-file "pki" \(.*\/pki\) is a directory, not the certificate file\. Point certificate-file at the PEM or DER file/,
      { stops: true },
    );
  });

  it('source: a file over 1 MiB is not read as a certificate', async () => {
    const run = await runAction(inputs({ 'certificate-file': 'big.pem' }), { files: { 'big.pem': ca.pem + 'x'.repeat(1024 * 1024) } });
    expectRefused(run, 'source', /certificate-file "big\.pem" .* is larger than 1 MiB/, { stops: true });
  });

  it('decoding: text that is no certificate', async () => {
    const run = await runAction(inputs({ certificate: 'my-ca-certificate-goes-here' }));
    expectRefused(run, 'decoding', /No certificate found: the input is not PEM, base64 of a PEM, or DER\. Pass the CA certificate in PEM/, {
      stops: true,
    });
  });

  it('decoding: a truncated PEM', async () => {
    const run = await runAction(inputs({ certificate: ca.pem.slice(0, 400) }));
    expectRefused(
      run,
      'decoding',
      /The PEM is truncated or mangled: -----BEGIN CERTIFICATE----- has no matching -----END CERTIFICATE----- line/,
      { stops: true },
    );
  });

  it('single-certificate: a chain of two, naming how many and their subjects', async () => {
    const chain = chainOfTwo('E2E Chain Root');
    const run = await runAction(inputs({ certificate: chain.pem }));
    expectRefused(
      run,
      'single-certificate',
      /The input holds 2 certificates \(a chain or bundle\): 1\. CN=chain-leaf\.example\.test; 2\. CN=E2E Chain Root, O=Example Test\. Upload one CA certificate/,
      { stops: true },
    );
  });

  it('single-certificate: a CSR, a PKCS#7, a CRL and a public key are named', async () => {
    for (const [name, item] of Object.entries(notCertificates(ca))) {
      const run = await runAction(inputs({ certificate: item.pem }));
      expectRefused(run, 'single-certificate', item.named, { stops: true, input: name });
      expect(run.annotations[0]!.message).toContain(`-----BEGIN ${item.label}-----`);
    }
  });

  it('x509: a CERTIFICATE block that does not parse', async () => {
    const run = await runAction(
      inputs({
        certificate: `-----BEGIN CERTIFICATE-----\n${Buffer.from('this is not DER, only text in base64').toString('base64')}\n-----END CERTIFICATE-----`,
      }),
    );
    expectRefused(run, 'x509', /The CERTIFICATE block does not parse as X\.509 \(.+\)\. The base64 may be truncated/, { stops: true });
  });

  it('ca-basic-constraints: a leaf, with the message that OpenAI needs the issuing CA (even when not strict)', async () => {
    const leaf = makeLeaf(ca, 'service.example.test');
    for (const strict of ['true', 'false']) {
      const run = await runAction(inputs({ certificate: leaf.pem, strict }));
      expectRefused(
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
    }
  });

  const profile: { name: CheckName; options: Parameters<typeof makeCa>[0]; message: RegExp; addext: string }[] = [
    {
      name: 'subject-key-identifier',
      options: { subjectKeyIdentifier: 'none', authorityKeyIdentifier: 'none' },
      message: /no Subject Key Identifier/,
      addext: '-addext "subjectKeyIdentifier=hash"',
    },
    {
      name: 'authority-key-identifier',
      options: { authorityKeyIdentifier: 'issuer:always' },
      message: /no keyIdentifier \(only issuer and serial\)/,
      addext: '-addext "authorityKeyIdentifier=keyid:always"',
    },
    {
      name: 'key-usage',
      options: { keyUsage: 'critical,keyCertSign' },
      message: /Key Usage lacks cRLSign \(CRL Sign\)/,
      addext: '-addext "keyUsage=critical,keyCertSign,cRLSign"',
    },
  ];
  for (const { name, options, message, addext } of profile) {
    it(`${name}: an error by default (strict), with the openssl -addext line`, async () => {
      const cert = makeCa({ cn: `No ${name} CA`, ...options });
      const run = await runAction(inputs({ certificate: cert.pem }));
      expectRefused(run, name, message);
      expect(run.annotations.find((a) => a.title === name)!.message).toContain(addext);
      expect(rowStatus(run, 'validity')).toBe('✅ pass');
    });

    it(`${name}: a warning with strict: false, and the upload happens`, async () => {
      const cert = makeCa({ cn: `Lenient ${name} CA`, ...options });
      const run = await runAction(inputs({ certificate: cert.pem, strict: 'false' }));
      expect(run.code, run.stdout).toBe(0);
      const warning = run.annotations.find((a) => a.title === name);
      expect(warning).toMatchObject({ level: 'warning', message: expect.stringMatching(message) });
      expect(warning!.message).toContain(addext);
      expect(run.annotations.filter((a) => a.level === 'error')).toEqual([]);
      expect(rowStatus(run, name)).toBe('⚠️ warning');
      expect(uploads()).toEqual([{ certificate: cert.pem }]);
      expect(run.outputs.uploaded).toBe('true');
    });
  }

  it('validity: an expired CA', async () => {
    const expired = await makeDatedCa(new Date(Date.now() - 300 * DAY), new Date(Date.now() - DAY), 'Expired E2E CA');
    const run = await runAction(inputs({ certificate: expired.pem }));
    expectRefused(run, 'validity', /The certificate expired on .*Z\. Issue a new CA certificate/);
  });

  it('validity: 12 hours left fails under the default min-validity-days', async () => {
    const soon = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 12 * HOUR), 'Twelve Hours E2E CA');
    const run = await runAction(inputs({ certificate: soon.pem }));
    expectRefused(
      run,
      'validity',
      /in (11|12) hour\(s\): within min-validity-days \(1\)\. OpenAI refuses certificates that expire within a day\./,
    );
  });

  it('validity: min-validity-days 30 refuses a CA with 10 days left', async () => {
    const tenDays = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY), 'Ten Days Strict E2E CA');
    const run = await runAction(inputs({ certificate: tenDays.pem, 'min-validity-days': '30' }));
    expectRefused(run, 'validity', /within min-validity-days \(30\)/);
  });

  it('validity: a CA expiring exactly min-validity-days from now is refused (the bound is inclusive); a second more passes', async () => {
    // The action's clock is held at a whole second (test/helpers/clock.ts), so the time that passes between
    // making the certificate and checking it cannot move the expiry off the bound.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const exact = await makeDatedCa(new Date(now - DAY), new Date(now + 30 * DAY), 'Thirty Days E2E CA');
    expect(exact.notAfter.getTime()).toBe(now + 30 * DAY);
    const atBound = await runAction(inputs({ certificate: exact.pem, 'min-validity-days': '30' }), { env: fixedClockEnv(now) });
    expectRefused(atBound, 'validity', /expires on .*Z, in 30 day\(s\): within min-validity-days \(30\)\./);
    // One second earlier, the certificate has 30 days and a second left: it passes (and is not "expiring soon").
    const secondMore = await runAction(inputs({ certificate: exact.pem, 'min-validity-days': '30' }), {
      env: fixedClockEnv(now - 1000),
    });
    expect(secondMore.code, secondMore.stdout).toBe(0);
    expect(rowStatus(secondMore, 'validity')).toBe('✅ pass');
    expect(uploads()).toEqual([{ certificate: exact.pem }]);
  });

  it('validity: 10 days left is a warning annotation, and the upload happens', async () => {
    const tenDays = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY), 'Ten Days E2E CA');
    const run = await runAction(inputs({ certificate: tenDays.pem }));
    expect(run.code, run.stdout).toBe(0);
    expect(run.annotations).toEqual([
      expect.objectContaining({
        level: 'warning',
        title: 'validity',
        message: expect.stringMatching(/expires soon: .* \(warn-validity-days is 30\)\. Plan its rotation/),
      }),
    ]);
    expect(rowStatus(run, 'validity')).toBe('⚠️ warning');
    expect(uploads()).toEqual([{ certificate: tenDays.pem }]);
  });

  it('validity: a CA not valid yet is a warning, and the upload happens', async () => {
    const future = await makeDatedCa(new Date(Date.now() + 3 * DAY), new Date(Date.now() + 300 * DAY), 'Future E2E CA');
    const run = await runAction(inputs({ certificate: future.pem }));
    expect(run.code, run.stdout).toBe(0);
    expect(run.annotations).toEqual([
      expect.objectContaining({ level: 'warning', title: 'validity', message: expect.stringMatching(/not valid yet/) }),
    ]);
    expect(uploads()).toHaveLength(1);
  });

  it('size: a CA over 16 KB', async () => {
    const huge = makeHugeCa();
    const run = await runAction(inputs({ certificate: huge.pem }));
    expectRefused(
      run,
      'size',
      new RegExp(
        `The PEM is ${Buffer.byteLength(huge.pem)} bytes; OpenAI accepts certificates under 16 KB \\(16,384 bytes\\)\\. Issue the CA with fewer extensions`,
      ),
    );
    expect(run.annotations.map((a) => a.title)).toEqual(['size']);
  });

  it('a dry run applies the same checks: an error exits 1, with or without an admin key, and sends nothing', async () => {
    const leaf = makeLeaf(ca);
    const withKey = await runAction(inputs({ certificate: leaf.pem, 'dry-run': 'true' }));
    expectRefused(withKey, 'ca-basic-constraints', /is not a CA certificate/);
    const withoutKey = await runAction(
      { certificate: leaf.pem, 'dry-run': 'true', 'base-url': emu.baseURL },
      { env: { OPENAI_ADMIN_KEY: undefined } },
    );
    expectRefused(withoutKey, 'ca-basic-constraints', /is not a CA certificate/);
    const expiredDry = await runAction(
      inputs({ certificate: (await makeDatedCa(new Date(Date.now() - 9 * DAY), new Date(Date.now() - DAY))).pem, 'dry-run': 'true' }),
    );
    expectRefused(expiredDry, 'validity', /expired/);
  });

  it('a dry run of a conforming CA exits 0 (and only reads)', async () => {
    const run = await runAction(inputs({ certificate: ca.pem, 'dry-run': 'true' }));
    expect(run.code, run.stdout).toBe(0);
    expect(emu.requests.every((r) => r.method === 'GET')).toBe(true);
    for (const name of CHECK_NAMES) expect(rowStatus(run, name)).toBe('✅ pass');
  });
});

describe('compiled action: a private key in the input', () => {
  let keys: ReturnType<typeof privateKeys>;
  beforeAll(() => {
    keys = privateKeys();
  });

  /** Every key line is masked before any other line is written, and appears nowhere a person can read. */
  function expectKeyMasked(run: ActionRun, keyPem: string): void {
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

  it('certificate and key together (the CA key itself): refused, masked line by line, never shown', async () => {
    const run = await runAction(inputs({ certificate: ca.pem + ca.keyPem }));
    expectRefused(
      run,
      'private-key',
      /The input contains a private key \(PRIVATE KEY\)\. Nothing was sent, and the key is not shown\. Only the CA certificate is uploaded: remove the key/,
      { stops: true },
    );
    expectKeyMasked(run, ca.keyPem);
  });

  it('each kind of key (traditional RSA, EC, PKCS#8, encrypted PKCS#8, encrypted traditional) is refused and masked', async () => {
    for (const [tool, key] of Object.entries(keys)) {
      const run = await runAction(inputs({ certificate: key.pem + ca.pem }));
      expectRefused(run, 'private-key', new RegExp(`private key \\(${key.label}\\)`), { stops: true, input: tool });
      // Only the key block is secret: ecparam also writes the (public) EC PARAMETERS before it.
      expectKeyMasked(run, key.pem.slice(key.pem.indexOf(`-----BEGIN ${key.label}-----`)));
    }
  });

  it('a key in a certificate-file with CRLF line endings is refused and masked', async () => {
    const key = keys['openssl genrsa -traditional']!.pem;
    const run = await runAction(inputs({ 'certificate-file': 'ca-and-key.pem' }), {
      files: { 'ca-and-key.pem': (ca.pem + key).replace(/\n/g, '\r\n') },
    });
    expectRefused(run, 'private-key', /private key \(RSA PRIVATE KEY\)/, { stops: true });
    expectKeyMasked(run, key);
  });

  it('base64 of a PEM holding a key: refused, the key and the base64 text masked', async () => {
    const b64 = Buffer.from(ca.pem + ca.keyPem).toString('base64');
    const run = await runAction(inputs({ certificate: b64 }));
    expectRefused(run, 'private-key', /private key \(PRIVATE KEY\)/, { stops: true });
    expectKeyMasked(run, ca.keyPem);
    expect(run.masked).toContain(b64);
    expect(leaks(run, [b64])).toEqual([]);
  });

  it('a dry run with a key in the input is refused the same way', async () => {
    const run = await runAction(
      { certificate: ca.pem + ca.keyPem, 'dry-run': 'true', 'base-url': emu.baseURL },
      { env: { OPENAI_ADMIN_KEY: undefined } },
    );
    expectRefused(run, 'private-key', /private key/, { stops: true });
    expectKeyMasked(run, ca.keyPem);
  });
});

describe('compiled action: every accepted encoding uploads the same clean PEM', () => {
  // Inline inputs go through environment variables (no NUL bytes; the runner trims them), so binary
  // and byte-order-mark forms are given as files, as they would be in practice.
  const asFile = /DER$|DER with|byte-order mark|UTF-16/;
  let encodings: Record<string, string | Buffer>;
  beforeAll(() => {
    encodings = encodingsOf(ca);
  });

  it('has the encodings under test', () => {
    expect(Object.keys(encodings)).toEqual(
      expect.arrayContaining([
        'PEM with CRLF line endings',
        'PEM with a UTF-8 byte-order mark',
        'openssl x509 -text output',
        'openssl pkcs12 -nokeys export (Bag Attributes)',
        'base64 of the PEM, one line',
        'DER',
        'base64 of the DER',
      ]),
    );
  });

  for (const name of Object.keys(encodingsOf(makeCa({ cn: 'Names only' })))) {
    it(name, async () => {
      const input = encodings[name]!;
      const run =
        asFile.test(name) || Buffer.isBuffer(input)
          ? await runAction(inputs({ 'certificate-file': 'certs/ca.input' }), { files: { 'certs/ca.input': input } })
          : await runAction(inputs({ certificate: input }));
      expect(run.code, run.stdout).toBe(0);
      expect(run.annotations).toEqual([]);
      expect(uploads()).toEqual([{ certificate: ca.pem }]);
      expect(run.outputs.fingerprint).toBe(ca.fingerprint);
      for (const check of CHECK_NAMES) expect(rowStatus(run, check)).toBe('✅ pass');
    });
  }
});
