import { MAX_CERTIFICATE_BYTES } from '../../src/limits.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHECK_NAMES,
  runPreflight,
  sourceFailure,
  type Check,
  type CheckName,
  type Preflight,
  type PreflightOptions,
} from '../../src/certificate/checks.js';
import { readSourceBytes, MAX_SOURCE_BYTES } from '../../src/certificate/source.js';
import { SourceError } from '../../src/errors.js';
import { secretParts } from '../../src/secrets.js';
import { makeCa, makeDatedCa, makeLeaf, tempDir, type MadeCertificate } from '../helpers/certs.ts';
import { chainOfTwo, derPrivateKeys, encodingsOf, makeHugeCa, notCertificates, pkcs12Of, privateKeys, secretLines } from './fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function options(overrides: Partial<PreflightOptions> = {}): PreflightOptions & { masked: string[] } {
  const masked: string[] = [];
  return {
    strict: true,
    minValidityDays: 1,
    warnValidityDays: 30,
    now: new Date(),
    mask: (s) => void masked.push(...secretParts(s)),
    masked,
    ...overrides,
  };
}

function check(result: Preflight, name: CheckName): Check {
  const found = result.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
}

/** No check failed: the run may go on. */
function passed(result: Preflight): boolean {
  return !result.checks.some((c) => c.status === 'fail');
}

function statuses(result: Preflight): Record<string, string> {
  return Object.fromEntries(result.checks.map((c) => [c.name, c.status]));
}

/** Every check after `name` is 'not run'; every check before it passed. */
function expectStoppedAt(result: Preflight, name: CheckName): void {
  const at = CHECK_NAMES.indexOf(name);
  expect(result.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
  expect(result.checks.slice(0, at).map((c) => [c.name, c.status])).toEqual(CHECK_NAMES.slice(0, at).map((n) => [n, 'pass']));
  expect(check(result, name).status).toBe('fail');
  expect(result.checks.slice(at + 1).map((c) => c.status)).toEqual(CHECK_NAMES.slice(at + 1).map(() => 'not run'));
  expect(passed(result)).toBe(false);
  expect(result.certificate).toBeUndefined();
}

const bytes = (input: string | Buffer): Buffer => (typeof input === 'string' ? Buffer.from(input) : input);

let ca: MadeCertificate;
beforeAll(() => {
  ca = makeCa({ cn: 'Checks CA', days: 400 });
});

describe('runPreflight: a conforming CA', () => {
  it('passes every check and returns the certificate with its clean PEM', () => {
    const result = runPreflight(bytes(ca.pem), options());
    expect(result.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(statuses(result)).toEqual(Object.fromEntries(CHECK_NAMES.map((n) => [n, 'pass'])));
    expect(passed(result)).toBe(true);
    expect(result.certificate?.pem).toBe(ca.pem);
    expect(result.certificate?.fingerprint).toBe(ca.fingerprint);
    expect(check(result, 'x509').message).toContain('CN=Checks CA');
    expect(check(result, 'size').message).toBe(`${Buffer.byteLength(ca.pem)} bytes`);
    expect(check(result, 'validity').message).toMatch(/valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((399|400) days left\)/);
    for (const c of result.checks) expect(c.hint).toBeUndefined();
  });
});

describe('rule source', () => {
  it('a read error fails source, names what is wrong, and stops everything else', () => {
    const error = new SourceError('certificate-file "x.pem" (/ws/x.pem) does not exist.', 'Check the path.');
    const checks = sourceFailure(error);
    expect(checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(checks[0]).toEqual({ name: 'source', status: 'fail', message: error.message, hint: 'Check the path.' });
    expect(checks.slice(1).every((c) => c.status === 'not run')).toBe(true);
  });

  it('passes with the number of bytes read', () => {
    expect(check(runPreflight(bytes(ca.pem), options()), 'source')).toMatchObject({
      status: 'pass',
      message: `${Buffer.byteLength(ca.pem)} bytes read`,
    });
  });
});

describe('readSourceBytes (rule source)', () => {
  it('reads an inline certificate and a regular file', () => {
    expect(readSourceBytes({ kind: 'inline', text: ca.pem }).toString()).toBe(ca.pem);
    expect(readSourceBytes({ kind: 'file', path: ca.certPath, given: 'ca.pem' }).toString()).toBe(ca.pem);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'ca.der'), ca.der);
    expect(readSourceBytes({ kind: 'file', path: path.join(dir, 'ca.der'), given: 'ca.der' })).toEqual(ca.der);
  });

  it('follows a symbolic link to a regular file', () => {
    const dir = tempDir();
    fs.symlinkSync(ca.certPath, path.join(dir, 'link.pem'));
    expect(readSourceBytes({ kind: 'file', path: path.join(dir, 'link.pem'), given: 'link.pem' }).toString()).toBe(ca.pem);
  });

  const failure = (fn: () => unknown): SourceError => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(SourceError);
      return error as SourceError;
    }
    throw new Error('did not throw');
  };

  it('a missing file: an error titled source naming the path as given and as resolved', () => {
    const dir = tempDir();
    const error = failure(() => readSourceBytes({ kind: 'file', path: path.join(dir, 'pki/missing.pem'), given: 'pki/missing.pem' }));
    expect(error.title).toBe('source');
    expect(error.message).toContain('"pki/missing.pem"');
    expect(error.message).toContain(path.join(dir, 'pki/missing.pem'));
    expect(error.message).toMatch(/does not exist/);
    expect(error.hint).toMatch(/GITHUB_WORKSPACE/);
  });

  it('a path under a regular file (ENOTDIR) counts as missing too', () => {
    const error = failure(() => readSourceBytes({ kind: 'file', path: path.join(ca.certPath, 'nested.pem'), given: 'ca.pem/nested.pem' }));
    expect(error.message).toMatch(/"ca.pem\/nested.pem".*does not exist/);
  });

  it('a directory: an error naming the path and saying it is a directory', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'pki'));
    const error = failure(() => readSourceBytes({ kind: 'file', path: path.join(dir, 'pki'), given: 'pki' }));
    expect(error.title).toBe('source');
    expect(error.message).toContain('"pki"');
    expect(error.message).toContain(path.join(dir, 'pki'));
    expect(error.message).toMatch(/is a directory/);
  });

  it('a device or FIFO is not a regular file', () => {
    const error = failure(() => readSourceBytes({ kind: 'file', path: '/dev/null', given: '/dev/null' }));
    expect(error.message).toMatch(/"\/dev\/null".*not a regular file/);
  });

  it('refuses more than 1 MiB, inline or in a file, and accepts exactly 1 MiB', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'big.pem'), Buffer.alloc(MAX_SOURCE_BYTES + 1, 0x41));
    const big = failure(() => readSourceBytes({ kind: 'file', path: path.join(dir, 'big.pem'), given: 'big.pem' }));
    expect(big.title).toBe('source');
    expect(big.message).toMatch(/"big.pem".*larger than 1 MiB/);
    const inline = failure(() => readSourceBytes({ kind: 'inline', text: 'A'.repeat(MAX_SOURCE_BYTES + 1) }));
    expect(inline.message).toMatch(/certificate input is larger than 1 MiB/);
    fs.writeFileSync(path.join(dir, 'max.pem'), Buffer.alloc(MAX_SOURCE_BYTES, 0x41));
    expect(readSourceBytes({ kind: 'file', path: path.join(dir, 'max.pem'), given: 'max.pem' })).toHaveLength(MAX_SOURCE_BYTES);
  });

  // Root reads any file, so this can only be shown as another user.
  it.skipIf(process.getuid?.() === 0)('an unreadable file: an error naming the path and the errno code', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'locked.pem'), ca.pem, { mode: 0o000 });
    const error = failure(() => readSourceBytes({ kind: 'file', path: path.join(dir, 'locked.pem'), given: 'locked.pem' }));
    expect(error.message).toMatch(/"locked.pem".*cannot be read \(EACCES\)/);
  });
});

describe('rule decoding', () => {
  it('every accepted encoding passes, names the encoding, and yields the same clean PEM', () => {
    for (const [name, input] of Object.entries(encodingsOf(ca))) {
      const result = runPreflight(bytes(input), options());
      expect({ name, statuses: statuses(result) }).toEqual({ name, statuses: Object.fromEntries(CHECK_NAMES.map((n) => [n, 'pass'])) });
      expect({ name, pem: result.certificate?.pem }).toEqual({ name, pem: ca.pem });
    }
    expect(check(runPreflight(ca.der, options()), 'decoding').message).toBe('DER');
    expect(check(runPreflight(bytes(ca.der.toString('base64')), options()), 'decoding').message).toBe('base64 of DER');
    expect(check(runPreflight(bytes(Buffer.from(ca.pem).toString('base64')), options()), 'decoding').message).toBe('base64 of a PEM text');
    expect(check(runPreflight(bytes(ca.pem), options()), 'decoding').message).toBe('PEM');
  });

  it('fails on input that is no certificate encoding, and says what is accepted', () => {
    for (const input of ['hello world', 'ghp_notACertificateAtAll', Buffer.from([0xde, 0xad, 0xbe, 0xef])]) {
      const result = runPreflight(bytes(input), options());
      expectStoppedAt(result, 'decoding');
      expect(check(result, 'decoding').message).toMatch(/No certificate found: the input is not PEM, base64 of a PEM, or DER/);
      expect(check(result, 'decoding').hint).toMatch(/-----BEGIN CERTIFICATE-----/);
    }
  });

  it('an empty file says it is empty', () => {
    const result = runPreflight(Buffer.alloc(0), options());
    expectStoppedAt(result, 'decoding');
    expect(check(result, 'decoding').message).toMatch(/the input is empty/);
  });

  it('a truncated PEM (BEGIN without END) fails, saying so, even next to a whole certificate', () => {
    for (const input of [ca.pem.slice(0, 300), ca.pem + ca.pem.slice(0, 300)]) {
      const result = runPreflight(bytes(input), options());
      expectStoppedAt(result, 'decoding');
      expect(check(result, 'decoding').message).toMatch(
        /truncated or mangled: -----BEGIN CERTIFICATE----- has no matching -----END CERTIFICATE----- line/,
      );
    }
  });
});

describe('rule private-key', () => {
  it('a key beside a truncated certificate: the truncation is a decoding warning, the key the error', () => {
    const opts = options();
    const result = runPreflight(bytes(ca.pem.slice(0, 300) + '\n' + ca.keyPem), opts);
    expect(check(result, 'decoding')).toMatchObject({ status: 'warning', message: expect.stringMatching(/truncated or mangled/) });
    expect(check(result, 'private-key').status).toBe('fail');
    expect(result.checks.slice(3).every((c) => c.status === 'not run')).toBe(true);
    expect(opts.masked).toContain(ca.keyPem.trim());
  });

  let keys: ReturnType<typeof privateKeys>;
  beforeAll(() => {
    keys = privateKeys();
  });

  it('refuses every kind of PEM private key, masks it whole and line by line, and never shows it', () => {
    for (const [tool, key] of Object.entries(keys)) {
      for (const input of [key.pem, ca.pem + key.pem, key.pem + ca.pem, key.pem.replace(/\n/g, '\r\n') + ca.pem.replace(/\n/g, '\r\n')]) {
        const opts = options();
        const result = runPreflight(bytes(input), opts);
        expectStoppedAt(result, 'private-key');
        const c = check(result, 'private-key');
        expect({ tool, message: c.message }).toEqual({
          tool,
          message: expect.stringContaining(`The input contains a private key (${key.label})`),
        });
        expect(c.hint).toMatch(/remove the key/);
        expect(c.hint).toMatch(/rotate the CA/);

        const block = key.pem.slice(key.pem.indexOf(`-----BEGIN ${key.label}`)).trim();
        expect(opts.masked).toContain(block);
        for (const line of secretLines(block)) {
          if (line.length >= 8) expect({ tool, line, masked: opts.masked.includes(line) }).toEqual({ tool, line, masked: true });
        }
        // Every line, short ones included, is covered by a masked text.
        for (const line of secretLines(block)) expect(opts.masked.some((m) => m.includes(line))).toBe(true);
        // Armour is not secret and is never registered on its own.
        expect(opts.masked.filter((m) => /^-----(BEGIN|END) [A-Z ]+-----$/.test(m))).toEqual([]);

        const shown = JSON.stringify(result);
        for (const line of secretLines(block).filter((l) => l.length >= 8)) expect(shown).not.toContain(line);
      }
    }
  });

  it('the key of the CA itself, exported with it by openssl pkcs12 -nodes, is refused', () => {
    const text = encodingsOf(ca)['openssl pkcs12 -nokeys export (Bag Attributes)'] as string;
    const withKey = text + 'Bag Attributes\n    localKeyID: 01 02\nKey Attributes: <No Attributes>\n' + ca.keyPem;
    const opts = options();
    const result = runPreflight(bytes(withKey), opts);
    expectStoppedAt(result, 'private-key');
    for (const line of secretLines(ca.keyPem).filter((l) => l.length >= 8)) expect(opts.masked).toContain(line);
  });

  it('base64 of a PEM with a key: refused, and the base64 text is masked too', () => {
    const b64 = Buffer.from(ca.pem + ca.keyPem).toString('base64');
    const opts = options();
    const result = runPreflight(bytes(b64), opts);
    expectStoppedAt(result, 'private-key');
    expect(opts.masked).toContain(b64);
    expect(opts.masked).toContain(ca.keyPem.trim());
  });

  it('refuses DER private keys and PKCS#12 archives, raw or base64, masking the base64', () => {
    for (const [label, der] of Object.entries(derPrivateKeys())) {
      for (const input of [der, bytes(der.toString('base64'))]) {
        const opts = options();
        const result = runPreflight(input, opts);
        expectStoppedAt(result, 'private-key');
        expect(check(result, 'private-key').message).toContain(`(${label}, DER)`);
        for (const line of der
          .toString('base64')
          .match(/.{1,64}/g)!
          .filter((l) => l.length >= 8))
          expect(opts.masked).toContain(line);
      }
    }
    const p12 = pkcs12Of(ca);
    for (const input of [p12, bytes(p12.toString('base64'))]) {
      const opts = options();
      const result = runPreflight(input, opts);
      expectStoppedAt(result, 'private-key');
      expect(check(result, 'private-key').message).toMatch(/PKCS#12 \(\.p12\/\.pfx\) archive/);
      expect(check(result, 'private-key').hint).toMatch(/openssl pkcs12 -in ca\.p12 -nokeys/);
    }
  });

  it('passes when there is no key, and masks nothing', () => {
    const opts = options();
    expect(check(runPreflight(bytes(ca.pem), opts), 'private-key')).toMatchObject({
      status: 'pass',
      message: 'no private key in the input',
    });
    expect(opts.masked).toEqual([]);
  });
});

describe('rule single-certificate', () => {
  it('refuses a chain of two, naming how many and each subject in order', () => {
    const chain = chainOfTwo('Bundle Root CA');
    const result = runPreflight(bytes(chain.pem), options());
    expectStoppedAt(result, 'single-certificate');
    const c = check(result, 'single-certificate');
    expect(c.message).toBe(`The input holds 2 certificates (a chain or bundle): 1. ${chain.subjects[0]}; 2. ${chain.subjects[1]}.`);
    expect(c.hint).toMatch(/only the first certificate/);
  });

  it('refuses a chain in any encoding: base64 of the PEM, DER back to back', () => {
    const other = makeCa({ cn: 'Other CA' });
    for (const input of [Buffer.from(Buffer.from(ca.pem + other.pem).toString('base64')), Buffer.concat([ca.der, other.der])]) {
      const result = runPreflight(input, options());
      expectStoppedAt(result, 'single-certificate');
      expect(check(result, 'single-certificate').message).toMatch(
        /holds 2 certificates.*1\. CN=Checks CA, O=Example Test; 2\. CN=Other CA, O=Example Test/,
      );
    }
  });

  it('refuses each other PEM type (and its DER form), naming the type', () => {
    for (const [name, item] of Object.entries(notCertificates(ca))) {
      for (const [form, input] of [
        ['PEM', bytes(item.pem)],
        ['DER', item.der],
      ] as const) {
        const result = runPreflight(input, options());
        expectStoppedAt(result, 'single-certificate');
        const c = check(result, 'single-certificate');
        expect({ name, form, message: c.message }).toEqual({ name, form, message: expect.stringMatching(item.named) });
        expect(c.message).toContain(`(-----BEGIN ${item.label}-----) and no certificate`);
      }
    }
  });

  it('refuses a certificate with a CSR beside it, counting the certificate', () => {
    const csr = notCertificates(ca)['CSR (openssl req -new)']!.pem;
    const result = runPreflight(bytes(ca.pem + csr), options());
    expectStoppedAt(result, 'single-certificate');
    expect(check(result, 'single-certificate').message).toMatch(
      /certificate signing request \(CSR\) \(-----BEGIN CERTIFICATE REQUEST-----\) besides 1 certificate/,
    );
    expect(check(result, 'single-certificate').hint).toMatch(/signed into a certificate/);
  });

  it('refuses an OpenSSL TRUSTED CERTIFICATE with the command that converts it', () => {
    const trusted = ca.pem.replace(/CERTIFICATE/g, 'TRUSTED CERTIFICATE');
    const result = runPreflight(bytes(trusted), options());
    expectStoppedAt(result, 'single-certificate');
    expect(check(result, 'single-certificate').hint).toBe('Convert it to a plain certificate: openssl x509 -in ca.pem -out ca-plain.pem.');
  });

  it('names an unknown PEM type by its armour', () => {
    const result = runPreflight(bytes('-----BEGIN SOMETHING ELSE-----\nAAAA\n-----END SOMETHING ELSE-----\n'), options());
    expect(check(result, 'single-certificate').message).toMatch(/a PEM block of another type \(-----BEGIN SOMETHING ELSE-----\)/);
  });

  it('accepts the X509 CERTIFICATE armour some old tools write', () => {
    const result = runPreflight(bytes(ca.pem.replace(/CERTIFICATE/g, 'X509 CERTIFICATE')), options());
    expect(passed(result)).toBe(true);
    expect(result.certificate?.pem).toBe(ca.pem);
  });
});

describe('rule x509', () => {
  it('fails when the CERTIFICATE block does not parse, with the parser error and how to check it', () => {
    for (const body of [
      Buffer.from('certainly not DER at all, just words').toString('base64'),
      ca.der.subarray(0, 200).toString('base64'),
    ]) {
      const result = runPreflight(bytes(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`), options());
      expectStoppedAt(result, 'x509');
      expect(check(result, 'x509').message).toMatch(/^The CERTIFICATE block does not parse as X\.509 \(.+\)\.$/);
      expect(check(result, 'x509').hint).toMatch(/openssl x509 -in ca-clean\.pem -noout -text/);
    }
  });

  it('passes with the subject and key', () => {
    expect(check(runPreflight(bytes(ca.pem), options()), 'x509').message).toBe('CN=Checks CA, O=Example Test (EC prime256v1)');
  });
});

describe('rule ca-basic-constraints', () => {
  it('a leaf fails whether strict or not, saying OpenAI needs the issuing CA, and naming the issuer', () => {
    const leaf = makeLeaf(ca, 'workload.example.test');
    for (const strict of [true, false]) {
      const result = runPreflight(bytes(leaf.pem), options({ strict }));
      const c = check(result, 'ca-basic-constraints');
      expect(c.status).toBe('fail');
      expect(c.message).toMatch(/CN=workload\.example\.test is not a CA certificate \(basicConstraints CA:FALSE\)/);
      expect(c.message).toMatch(
        /OpenAI needs the CA that issues your client certificates \(this one was issued by CN=Checks CA, O=Example Test\)/,
      );
      expect(c.hint).toMatch(/Upload the issuing CA's certificate instead/);
      expect(c.hint).toContain('-addext "basicConstraints=critical,CA:TRUE"');
      expect(passed(result)).toBe(false);
      // The checks after it still run: the certificate parsed.
      expect(check(result, 'validity').status).not.toBe('not run');
      expect(result.certificate?.subject).toBe('CN=workload.example.test');
    }
  });

  it('no basicConstraints at all, and CA:FALSE on a self-signed certificate, fail too', () => {
    for (const [basicConstraints, said] of [
      [null, 'no basicConstraints extension'],
      ['critical,CA:FALSE', 'basicConstraints CA:FALSE'],
    ] as const) {
      const result = runPreflight(bytes(makeCa({ basicConstraints }).pem), options());
      expect(check(result, 'ca-basic-constraints')).toMatchObject({ status: 'fail', message: expect.stringContaining(said) });
      expect(check(result, 'ca-basic-constraints').message).not.toMatch(/issued by/);
    }
  });

  it('passes CA:TRUE, with the path length when there is one', () => {
    expect(check(runPreflight(bytes(ca.pem), options()), 'ca-basic-constraints')).toMatchObject({ status: 'pass', message: 'CA:TRUE' });
    const withPath = makeCa({ basicConstraints: 'critical,CA:TRUE,pathlen:1' });
    expect(check(runPreflight(bytes(withPath.pem), options()), 'ca-basic-constraints').message).toBe('CA:TRUE, pathlen 1');
  });
});

describe('profile rules subject-key-identifier, authority-key-identifier, key-usage: strict and not', () => {
  const cases: { name: CheckName; ca: () => MadeCertificate; message: RegExp; addext: string }[] = [
    {
      name: 'subject-key-identifier',
      ca: () => makeCa({ subjectKeyIdentifier: 'none', authorityKeyIdentifier: 'none' }),
      message: /no Subject Key Identifier/,
      addext: '-addext "subjectKeyIdentifier=hash"',
    },
    {
      name: 'authority-key-identifier',
      ca: () => makeCa({ authorityKeyIdentifier: 'none' }),
      message: /no Authority Key Identifier; OpenAI requires one, in keyIdentifier form/,
      addext: '-addext "authorityKeyIdentifier=keyid:always"',
    },
    {
      name: 'authority-key-identifier',
      ca: () => makeCa({ authorityKeyIdentifier: 'issuer:always' }),
      message: /has no keyIdentifier \(only issuer and serial\)/,
      addext: '-addext "authorityKeyIdentifier=keyid:always"',
    },
    {
      name: 'key-usage',
      ca: () => makeCa({ keyUsage: null }),
      message: /no Key Usage extension; OpenAI requires keyCertSign and cRLSign/,
      addext: '-addext "keyUsage=critical,keyCertSign,cRLSign"',
    },
    {
      name: 'key-usage',
      ca: () => makeCa({ keyUsage: 'critical,keyCertSign' }),
      message: /Key Usage lacks cRLSign \(CRL Sign\); it has keyCertSign/,
      addext: '-addext "keyUsage=critical,keyCertSign,cRLSign"',
    },
    {
      name: 'key-usage',
      ca: () => makeCa({ keyUsage: 'critical,cRLSign' }),
      message: /Key Usage lacks keyCertSign \(Certificate Sign\); it has crlSign/,
      addext: '-addext "keyUsage=critical,keyCertSign,cRLSign"',
    },
    {
      name: 'key-usage',
      ca: () => makeCa({ keyUsage: 'critical,digitalSignature' }),
      message: /lacks keyCertSign \(Certificate Sign\) and cRLSign \(CRL Sign\)/,
      addext: '-addext "keyUsage=critical,keyCertSign,cRLSign"',
    },
  ];

  for (const { name, ca: make, message, addext } of cases) {
    it(`${name} (${message.source.slice(0, 40)}): error when strict, warning when not; the hint has the openssl -addext line`, () => {
      const cert = make();
      const strict = runPreflight(bytes(cert.pem), options({ strict: true }));
      const c = check(strict, name);
      expect(c.status).toBe('fail');
      expect(c.message).toMatch(message);
      expect(c.hint).toContain(addext);
      expect(c.hint).toContain('openssl req -x509');
      expect(passed(strict)).toBe(false);
      // A profile failure does not stop the later checks: they all ran.
      expect(strict.checks.filter((x) => x.status === 'not run')).toEqual([]);

      const lenient = runPreflight(bytes(cert.pem), options({ strict: false }));
      expect(check(lenient, name)).toMatchObject({ status: 'warning', message: c.message, hint: c.hint });
      expect(passed(lenient)).toBe(true);
      expect(lenient.certificate?.pem).toBe(cert.pem);
    });
  }

  it('all three missing at once: three errors when strict, three warnings when not', () => {
    const bare = makeCa({ keyUsage: null, subjectKeyIdentifier: 'none', authorityKeyIdentifier: 'none' });
    const names: CheckName[] = ['subject-key-identifier', 'authority-key-identifier', 'key-usage'];
    expect(names.map((n) => check(runPreflight(bytes(bare.pem), options()), n).status)).toEqual(['fail', 'fail', 'fail']);
    expect(names.map((n) => check(runPreflight(bytes(bare.pem), options({ strict: false })), n).status)).toEqual([
      'warning',
      'warning',
      'warning',
    ]);
  });

  it('pass messages carry the identifiers and usages', () => {
    const result = runPreflight(bytes(ca.pem), options());
    expect(check(result, 'subject-key-identifier').message).toBe(result.certificate!.subjectKeyId);
    expect(check(result, 'authority-key-identifier').message).toBe(`keyid ${result.certificate!.subjectKeyId}`);
    expect(check(result, 'key-usage').message.split(', ').sort()).toEqual(['crlSign', 'keyCertSign']);
  });
});

describe('rule validity', () => {
  const now = Date.now();

  it('an expired CA fails (made with @peculiar/x509, dated in the past)', async () => {
    const expired = await makeDatedCa(new Date(now - 400 * DAY), new Date(now - DAY), 'Expired CA');
    const result = runPreflight(bytes(expired.pem), options());
    expect(check(result, 'validity')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^The certificate expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.$/),
    });
    expect(check(result, 'validity').hint).toMatch(/Issue a new CA certificate/);
    expect(passed(result)).toBe(false);
    // Expiry is an error even when not strict.
    expect(check(runPreflight(bytes(expired.pem), options({ strict: false })), 'validity').status).toBe('fail');
  });

  it('12 hours left fails under the default min-validity-days of 1, citing OpenAI', async () => {
    const soon = await makeDatedCa(new Date(now - DAY), new Date(now + 12 * HOUR), 'Twelve Hours CA');
    const c = check(runPreflight(bytes(soon.pem), options()), 'validity');
    expect(c.status).toBe('fail');
    expect(c.message).toMatch(/in 1[12] hours: within min-validity-days \(1\)\. OpenAI refuses certificates that expire within a day\./);
    expect(check(runPreflight(bytes(soon.pem), options({ minValidityDays: 0 })), 'validity').status).toBe('warning');
  });

  it('10 days left is a warning under the default warn-validity-days of 30, and passes with 5', async () => {
    const tenDays = await makeDatedCa(new Date(now - DAY), new Date(now + 10 * DAY), 'Ten Days CA');
    const result = runPreflight(bytes(tenDays.pem), options());
    expect(check(result, 'validity')).toMatchObject({
      status: 'warning',
      message: expect.stringMatching(/expires soon: on .* in (9|10) days \(warn-validity-days is 30\)/),
    });
    expect(check(result, 'validity').hint).toMatch(/Plan its rotation/);
    expect(passed(result)).toBe(true);
    expect(check(runPreflight(bytes(tenDays.pem), options({ warnValidityDays: 5 })), 'validity').status).toBe('pass');
    expect(check(runPreflight(bytes(tenDays.pem), options({ minValidityDays: 11 })), 'validity')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/within min-validity-days \(11\)\.$/),
    });
  });

  it('a CA not valid yet is a warning', async () => {
    const future = await makeDatedCa(new Date(now + 2 * DAY), new Date(now + 400 * DAY), 'Future CA');
    const result = runPreflight(bytes(future.pem), options());
    expect(check(result, 'validity')).toMatchObject({
      status: 'warning',
      message: expect.stringMatching(/not valid yet: it becomes valid on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/),
    });
    expect(passed(result)).toBe(true);
  });

  it('follows the now option rather than the clock', () => {
    const at = (ms: number): PreflightOptions => options({ now: new Date(ms) });
    const notAfter = ca.notAfter.getTime();
    const notBefore = ca.notBefore.getTime();
    expect(check(runPreflight(bytes(ca.pem), at(notAfter + 1000)), 'validity').status).toBe('fail');
    expect(check(runPreflight(bytes(ca.pem), at(notAfter + 1000)), 'validity').message).toMatch(/expired/);
    expect(check(runPreflight(bytes(ca.pem), at(notAfter)), 'validity').message).toMatch(/expired/);
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - 12 * HOUR)), 'validity')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('12 hours'),
    });
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - 20 * DAY)), 'validity')).toMatchObject({
      status: 'warning',
      message: expect.stringContaining('in 20 days'),
    });
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - 31 * DAY)), 'validity').status).toBe('pass');
    // Exactly min-validity-days left is within it: OpenAI wants more than one day.
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - DAY)), 'validity').status).toBe('fail');
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - DAY - 1000)), 'validity').status).toBe('warning');
    expect(check(runPreflight(bytes(ca.pem), at(notBefore - DAY)), 'validity').status).toBe('warning');
    expect(check(runPreflight(bytes(ca.pem), at(notBefore - DAY)), 'validity').message).toMatch(/not valid yet/);
    expect(check(runPreflight(bytes(ca.pem), at(notBefore + DAY)), 'validity').status).toBe('pass');
  });
});

describe('rule validity: the bounds, to the millisecond', () => {
  const at = (ms: number): PreflightOptions => options({ now: new Date(ms) });

  it('valid from the very millisecond of notBefore; exactly warn-validity-days left is not "expiring soon"', () => {
    const notAfter = ca.notAfter.getTime();
    expect(check(runPreflight(bytes(ca.pem), at(ca.notBefore.getTime())), 'validity').status).toBe('pass');
    expect(check(runPreflight(bytes(ca.pem), at(ca.notBefore.getTime() - 1)), 'validity').status).toBe('warning');
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - 30 * DAY)), 'validity').status).toBe('pass');
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - 30 * DAY + 1000)), 'validity').status).toBe('warning');
  });

  it('exactly one day left is said in days, less than a day in hours', () => {
    const notAfter = ca.notAfter.getTime();
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - DAY)), 'validity').message).toMatch(
      /, in 1 day: within min-validity-days \(1\)\./,
    );
    expect(check(runPreflight(bytes(ca.pem), at(notAfter - DAY + 1000)), 'validity').message).toMatch(/, in 23 hours: within/);
  });
});

describe('the longest lists are cut at ten', () => {
  it('a truncated PEM names at most ten of its unterminated blocks', () => {
    const labels = Array.from({ length: 12 }, (_, i) => `THING ${String.fromCharCode(65 + i)}`);
    const text = labels.map((label) => `-----BEGIN ${label}-----\nAAAA\n`).join('');
    const c = check(runPreflight(bytes(text), options()), 'decoding');
    expect(c.status).toBe('fail');
    for (const label of labels.slice(0, 10)) expect(c.message).toContain(`-----BEGIN ${label}-----`);
    for (const label of labels.slice(10)) expect(c.message).not.toContain(`-----BEGIN ${label}-----`);
  });

  it('a bundle of ten certificates names all ten; of eleven, ten and "1 more"', () => {
    const ten = check(runPreflight(bytes(ca.pem.repeat(10)), options()), 'single-certificate');
    expect(ten.message).toMatch(/^The input holds 10 certificates \(a chain or bundle\): 1\. .*; 10\. [^;]*\.$/);
    const eleven = check(runPreflight(bytes(ca.pem.repeat(11)), options()), 'single-certificate');
    expect(eleven.message).toMatch(/^The input holds 11 certificates \(a chain or bundle\): .*; 10\. .*; and 1 more\.$/);
    expect(eleven.message).not.toMatch(/11\. /);
  });

  it('a certificate of a bundle that does not parse is named as such', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n';
    const c = check(runPreflight(bytes(ca.pem + broken), options()), 'single-certificate');
    expect(c.message).toMatch(/: 1\. .*CN=.*; 2\. \(does not parse as X\.509\)\.$/);
  });
});

describe('rule private-key: the encoding named', () => {
  it('a key in base64 of a PEM is not called DER', () => {
    const key = privateKeys()['openssl genpkey']!;
    const c = check(runPreflight(bytes(Buffer.from(key.pem).toString('base64')), options()), 'private-key');
    expect(c.status).toBe('fail');
    expect(c.message).toMatch(/^The input contains a private key \([A-Z ]+\)\. Nothing was sent/);
  });
});

describe('rule size', () => {
  it('a CA with a huge subjectAltName, over 16 KB as PEM, fails; the message gives the size', () => {
    const huge = makeHugeCa();
    const size = Buffer.byteLength(huge.pem);
    expect(size).toBeGreaterThan(MAX_CERTIFICATE_BYTES);
    const result = runPreflight(bytes(huge.pem), options());
    expect(check(result, 'size')).toMatchObject({
      status: 'fail',
      message: `The PEM is ${size} bytes; OpenAI accepts certificates under 16 KB (16,384 bytes).`,
    });
    expect(check(result, 'size').hint).toMatch(/fewer extensions/);
    expect(passed(result)).toBe(false);
    // The other rules passed: size alone fails.
    expect(result.checks.filter((c) => c.status !== 'pass').map((c) => c.name)).toEqual(['size']);
  });

  it('measures the clean PEM that is sent, not the input: a large x509 -text dump of a small CA passes', () => {
    const text = encodingsOf(ca)['openssl x509 -text output'] as string;
    const padded = text + '\n'.repeat(20_000);
    expect(Buffer.byteLength(padded)).toBeGreaterThan(MAX_CERTIFICATE_BYTES);
    const result = runPreflight(bytes(padded), options());
    expect(check(result, 'size')).toMatchObject({ status: 'pass', message: `${Buffer.byteLength(ca.pem)} bytes` });
  });
});

describe('hostile or accidental large inputs (up to the 1 MiB the source allows)', () => {
  const MiB = 1024 * 1024;
  it('fail and keep every message short', () => {
    const cases: Record<string, Buffer> = {};
    const bundle = Buffer.from(ca.pem.repeat(Math.floor((MiB - 1) / Buffer.byteLength(ca.pem))));
    cases['a bundle of hundreds of certificates'] = bundle;
    cases['BEGIN lines without END'] = Buffer.from('-----BEGIN CERTIFICATE-----\n'.repeat(MiB / 32));
    cases['many distinct PEM labels'] = Buffer.from(
      Array.from({ length: 10_000 }, (_, i) => `-----BEGIN TYPE ${i}-----\nAAAA\n-----END TYPE ${i}-----\n`).join(''),
    );
    cases['tiny DER sequences back to back'] = Buffer.concat(Array.from({ length: MiB / 4 }, () => Buffer.from([0x30, 0x02, 0x05, 0x00])));
    cases['one megabyte of base64'] = Buffer.from('A'.repeat(MiB));
    cases['one megabyte of dashes'] = Buffer.from('-'.repeat(MiB));
    for (const [name, input] of Object.entries(cases)) {
      expect(input.length).toBeLessThanOrEqual(MiB);
      // No timing assertion here (figures belong in benchmarks); the test timeout catches a runaway.
      const result = runPreflight(input, options());
      expect({ name, ok: passed(result) }).toEqual({ name, ok: false });
      for (const c of result.checks)
        expect({ name, check: c.name, short: `${c.message} ${c.hint ?? ''}`.length < 4000 }).toEqual({ name, check: c.name, short: true });
    }
    expect(check(runPreflight(bundle, options()), 'single-certificate').message).toMatch(
      /^The input holds \d{3,} certificates .*10\. CN=Checks CA, O=Example Test; and \d+ more\.$/,
    );
  });
});
