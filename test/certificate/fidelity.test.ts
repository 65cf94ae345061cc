/**
 * Fidelity: on real CA certificates nobody in this project made (Node's bundled Mozilla roots, and the
 * system trust store when there is one), what our inspect and checks find must be what openssl finds.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rootCertificates } from 'node:tls';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runPreflight, type CheckName } from '../../src/certificate/checks.js';
import { decodeInput, toPem } from '../../src/certificate/decode.js';
import { inspectCertificate } from '../../src/certificate/inspect.js';
import { tempDir } from '../helpers/certs.ts';
import { parseOpensslText, type OpensslVerdict } from './fixtures.ts';

const SYSTEM_STORE = '/etc/ssl/certs';
const FIXED_NOW = new Date('2026-01-01T00:00:00Z');

/**
 * What `openssl x509 -noout -text -fingerprint -sha256` says of each PEM, in order, from two openssl
 * processes instead of one per certificate (a few hundred processes took most of this file's time):
 * `openssl storeutl -noout -text -certs` prints every certificate of one bundle with the same X509 text
 * (only the spacing inside names differs, which the comparison does not read), and `openssl dgst -sha256`
 * hashes each certificate's DER, which is the fingerprint `x509 -fingerprint -sha256` prints.
 */
async function opensslTexts(pems: string[]): Promise<string[]> {
  const dir = tempDir('mtls-fidelity-');
  fs.writeFileSync(path.join(dir, 'bundle.pem'), pems.map((pem) => `${pem.trim()}\n`).join(''));
  const ders = pems.map((pem, i) => {
    const file = `${i}.der`;
    const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    fs.writeFileSync(path.join(dir, file), Buffer.from(body, 'base64'));
    return file;
  });
  const run = async (args: string[]): Promise<string> =>
    (await promisify(execFile)('openssl', args, { cwd: dir, maxBuffer: 256 * 1024 * 1024 })).stdout;
  const [listing, digests] = await Promise.all([
    run(['storeutl', '-noout', '-text', '-certs', 'bundle.pem']),
    run(['dgst', '-sha256', '-r', ...ders]),
  ]);
  const texts = listing.split(/^\d+: Certificate$/m).slice(1);
  if (texts.length !== pems.length || !listing.includes(`Total found: ${pems.length}`))
    throw new Error(`openssl storeutl printed ${texts.length} certificates of ${pems.length}:\n${listing.slice(-500)}`);
  const fingerprints = new Map(
    digests
      .trim()
      .split('\n')
      .map((line) => {
        const [hex = '', file = ''] = line.trim().split(/\s+\*?/);
        return [file, hex.toUpperCase().match(/../g)!.join(':')] as const;
      }),
  );
  return texts.map((text, i) => {
    const fingerprint = fingerprints.get(ders[i]!);
    if (!fingerprint) throw new Error(`openssl dgst printed no digest of ${ders[i]}:\n${digests}`);
    return `${text}sha256 Fingerprint=${fingerprint}\n`;
  });
}

interface Sample {
  origin: string;
  pem: string;
}

/** Node's bundled roots (always there), plus every PEM of the system store that is not among them. */
function samples(): Sample[] {
  const seen = new Set<string>();
  const out: Sample[] = [];
  const add = (origin: string, pem: string): void => {
    const fingerprint = new X509Certificate(pem).fingerprint256;
    if (seen.has(fingerprint)) return;
    seen.add(fingerprint);
    out.push({ origin, pem });
  };
  rootCertificates.forEach((pem, i) => add(`node:tls rootCertificates[${i}]`, pem));
  if (fs.existsSync(SYSTEM_STORE)) {
    for (const name of fs
      .readdirSync(SYSTEM_STORE)
      .filter((n) => n.endsWith('.pem'))
      .sort()) {
      const file = path.join(SYSTEM_STORE, name);
      let text: string;
      try {
        if (!fs.statSync(file).isFile()) continue;
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue; // a dangling link
      }
      for (const block of decodeInput(text).blocks.filter((b) => b.label === 'CERTIFICATE')) add(file, toPem(block.der));
    }
  }
  return out;
}

/** Our verdict per rule, from the preflight checks themselves (strict, on a fixed date so validity does not matter). */
function ourVerdict(pem: string): Record<string, unknown> {
  const result = runPreflight(Buffer.from(pem), {
    strict: true,
    minValidityDays: 1,
    warnValidityDays: 30,
    now: FIXED_NOW,
    mask: () => undefined,
  });
  const status = (name: CheckName): string | undefined => result.checks.find((c) => c.name === name)?.status;
  const info = result.certificate;
  return {
    parsed: status('x509'),
    ca: status('ca-basic-constraints') === 'pass',
    subjectKeyIdentifier: status('subject-key-identifier') === 'pass',
    authorityKeyIdentifierKeyId: status('authority-key-identifier') === 'pass',
    keyUsageCertAndCrlSign: status('key-usage') === 'pass',
    subjectKeyId: info?.subjectKeyId,
    authorityKeyId: info?.authorityKeyId === undefined ? undefined : (info.authorityKeyId.keyId ?? null),
    keyUsagePresent: info?.keyUsage !== undefined,
    fingerprint: info?.fingerprint,
    notBefore: info?.notBefore.toISOString(),
    notAfter: info?.notAfter.toISOString(),
  };
}

function opensslVerdict(said: OpensslVerdict): Record<string, unknown> {
  return {
    parsed: 'pass',
    ca: said.ca,
    subjectKeyIdentifier: said.subjectKeyId !== undefined,
    authorityKeyIdentifierKeyId: typeof said.authorityKeyId === 'string',
    keyUsageCertAndCrlSign: said.hasKeyUsage && said.certificateSign && said.crlSign,
    subjectKeyId: said.subjectKeyId,
    authorityKeyId: said.authorityKeyId,
    keyUsagePresent: said.hasKeyUsage,
    fingerprint: said.fingerprint,
    notBefore: said.notBefore.toISOString(),
    notAfter: said.notAfter.toISOString(),
  };
}

describe('fidelity with openssl on real CA certificates', () => {
  it('takes the bundled roots of node:tls, and adds the system store when there is one', () => {
    const all = samples();
    expect(rootCertificates.length).toBeGreaterThan(50);
    expect(all.filter((s) => s.origin.startsWith('node:tls')).length).toBe(
      new Set(rootCertificates.map((p) => new X509Certificate(p).fingerprint256)).size,
    );
    if (!fs.existsSync(SYSTEM_STORE)) console.info(`${SYSTEM_STORE} is absent: only the node:tls roots are compared.`);
  });

  it('CA:TRUE, SKI, AKI keyid, Key Usage, fingerprint and dates agree with the X509 text and SHA-256 digest openssl gives for every certificate', async () => {
    const all = samples();
    const started = Date.now();
    const texts = await opensslTexts(all.map((s) => s.pem));
    const mismatches: unknown[] = [];
    const tally = { ca: 0, notCa: 0, ski: 0, noSki: 0, akiKeyId: 0, akiWithout: 0, noAki: 0, usageOk: 0, usageNotOk: 0 };
    all.forEach((sample, i) => {
      const said = parseOpensslText(texts[i] as string);
      const ours = ourVerdict(sample.pem);
      const theirs = opensslVerdict(said);
      if (JSON.stringify(ours) !== JSON.stringify(theirs))
        mismatches.push({ origin: sample.origin, subject: new X509Certificate(sample.pem).subject, ours, theirs });
      tally[said.ca ? 'ca' : 'notCa']++;
      tally[said.subjectKeyId ? 'ski' : 'noSki']++;
      tally[said.authorityKeyId === undefined ? 'noAki' : said.authorityKeyId === null ? 'akiWithout' : 'akiKeyId']++;
      tally[theirs.keyUsageCertAndCrlSign ? 'usageOk' : 'usageNotOk']++;
    });
    console.info(
      `fidelity: ${all.length} certificates (${all.filter((s) => s.origin.startsWith(SYSTEM_STORE)).length} only in ${SYSTEM_STORE}), ${JSON.stringify(tally)}, ${Date.now() - started} ms`,
    );
    expect(mismatches).toEqual([]);
    expect(all.length).toBeGreaterThan(50);
    // The sample really exercises both sides of the rules that vary among roots.
    expect(tally.ca).toBeGreaterThan(0);
    expect(tally.akiKeyId).toBeGreaterThan(0);
    expect(tally.noAki).toBeGreaterThan(0);
    expect(tally.usageOk).toBeGreaterThan(0);
  });

  it('inspectCertificate never throws on a real root, and the clean PEM round-trips', () => {
    for (const sample of samples()) {
      const info = inspectCertificate(new X509Certificate(sample.pem).raw);
      expect(info.pem).toBe(toPem(new X509Certificate(sample.pem).raw));
      expect(new X509Certificate(info.pem).fingerprint256).toBe(info.fingerprint);
    }
  });
});
