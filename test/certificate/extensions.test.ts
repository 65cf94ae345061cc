import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPreflight } from '../../src/certificate/checks.ts';
import { readCaExtensions } from '../../src/certificate/extensions.ts';
import { makeCa, openssl, tempDir } from '../helpers/certs.ts';

const options = { strict: true, minValidityDays: 0, warnValidityDays: 0, now: new Date(), mask: (text: string) => text };

describe('readCaExtensions', () => {
  it('reads the four extensions of a conforming CA', () => {
    const ca = makeCa({ basicConstraints: 'critical,CA:TRUE,pathlen:3' });
    const read = readCaExtensions(ca.der);
    expect(read.basicConstraints).toEqual({ ca: true, pathLength: 3 });
    expect(read.keyUsage).toEqual(['keyCertSign', 'crlSign']);
    expect(read.subjectKeyId).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(read.authorityKeyId).toEqual({ keyId: read.subjectKeyId });
  });

  it('reads a bit string whose last octet has unused bits, and bits past the first octet', () => {
    const ca = makeCa({ keyUsage: 'critical,digitalSignature,decipherOnly' });
    expect(readCaExtensions(ca.der).keyUsage).toEqual(['digitalSignature', 'decipherOnly']);
  });

  it('finds no extensions in a version 1 certificate', () => {
    const dir = tempDir();
    openssl(
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'k.pem',
        '-subj',
        '/CN=v1',
        '-out',
        'r.csr',
      ],
      dir,
    );
    openssl(['x509', '-req', '-in', 'r.csr', '-key', 'k.pem', '-days', '30', '-outform', 'DER', '-out', 'v1.der'], dir);
    expect(openssl(['x509', '-inform', 'DER', '-in', 'v1.der', '-noout', '-text'], dir)).toContain('Version: 1 (0x0)');
    expect(readCaExtensions(fs.readFileSync(path.join(dir, 'v1.der')))).toEqual({
      basicConstraints: undefined,
      subjectKeyId: undefined,
      authorityKeyId: undefined,
      keyUsage: undefined,
    });
  });

  it.each([
    ['basicConstraints', '2.5.29.19 = critical,DER:0101FF', /malformed basicConstraints/],
    ['keyUsage', '2.5.29.15 = critical,DER:040106', /malformed keyUsage/],
    ['subjectKeyIdentifier', '2.5.29.14 = DER:0201FF', /malformed subjectKeyIdentifier/],
    ['a value with bytes after it', '2.5.29.19 = critical,DER:3000FF', /not one DER value/],
  ])('throws on a malformed %s, which openssl signs but cannot read', (_what, line, error) => {
    const name = line.split(' ')[0]!;
    const replaced = { '2.5.29.19': 'basicConstraints', '2.5.29.15': 'keyUsage', '2.5.29.14': 'subjectKeyIdentifier' }[name];
    const ca = makeCa({ [replaced as string]: null, extra: [line] });
    expect(() => readCaExtensions(ca.der)).toThrow(error);
    const preflight = runPreflight(ca.der, options);
    expect(preflight.checks.find((c) => c.name === 'x509')).toMatchObject({ status: 'fail', message: expect.stringMatching(error) });
  });
});
