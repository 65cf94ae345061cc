import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyDer, decodeInput, isPrivateKeyLabel, toPem, type InputEncoding } from '../../src/certificate/decode.js';
import { makeCa, type MadeCertificate } from '../helpers/certs.ts';
import { chainOfTwo, derPrivateKeys, encodingsOf, notCertificates, pkcs12Of, privateKeys } from './fixtures.ts';

let ca: MadeCertificate;
let rsaCa: MadeCertificate;
beforeAll(() => {
  ca = makeCa({ cn: 'Decode CA' });
  rsaCa = makeCa({ cn: 'Decode RSA CA', key: 'rsa' });
});

const expectedEncoding: Record<string, InputEncoding> = {
  'base64 of the PEM, one line': 'base64-pem',
  'base64 of the PEM, wrapped at 76 columns': 'base64-pem',
  'base64 of a CRLF PEM with a byte-order mark': 'base64-pem',
  DER: 'der',
  'DER with a trailing newline': 'der',
  'base64 of the DER': 'base64-der',
  'base64 of the DER, wrapped at 64 columns': 'base64-der',
};

describe('toPem', () => {
  it('writes one clean block: LF endings, 64-column base64, trailing newline', () => {
    const pem = toPem(ca.der);
    expect(pem).toBe(ca.pem);
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-2)).toBe('-----END CERTIFICATE-----');
    expect(lines.at(-1)).toBe('');
    expect(pem).not.toMatch(/\r/);
    for (const line of lines.slice(1, -2)) expect(line.length).toBeLessThanOrEqual(64);
    expect(lines.slice(1, -3).every((l) => l.length === 64)).toBe(true);
  });

  it('uses the label it is given', () => {
    expect(toPem(Buffer.from([1, 2, 3]), 'X509 CRL')).toBe('-----BEGIN X509 CRL-----\nAQID\n-----END X509 CRL-----\n');
  });
});

describe('decodeInput: every accepted encoding gives the same certificate', () => {
  for (const which of ['EC', 'RSA'] as const) {
    it(`${which} CA: each encoding decodes to one CERTIFICATE block whose clean PEM is the original`, () => {
      const cert = which === 'EC' ? ca : rsaCa;
      const encodings = encodingsOf(cert);
      expect(Object.keys(encodings).length).toBeGreaterThanOrEqual(15);
      for (const [name, input] of Object.entries(encodings)) {
        const decoded = decodeInput(input);
        expect({ name, labels: decoded.blocks.map((b) => b.label) }).toEqual({ name, labels: ['CERTIFICATE'] });
        expect({ name, pem: toPem(decoded.blocks[0]!.der) }).toEqual({ name, pem: cert.pem });
        expect({ name, encoding: decoded.encoding }).toEqual({ name, encoding: expectedEncoding[name] ?? 'pem' });
        expect(decoded.keyMaterial).toEqual([]);
        expect(decoded.unterminated).toEqual([]);
      }
    });
  }

  it('accepts a string as well as bytes', () => {
    expect(toPem(decodeInput(ca.pem).blocks[0]!.der)).toBe(ca.pem);
    expect(toPem(decodeInput(Buffer.from(ca.pem)).blocks[0]!.der)).toBe(ca.pem);
  });

  it('the pkcs12 export text really has Bag Attributes and the x509 text really has the dump before the block', () => {
    const encodings = encodingsOf(ca);
    expect(String(encodings['openssl pkcs12 -nokeys export (Bag Attributes)'])).toMatch(
      /^Bag Attributes\n[\s\S]*subject=[\s\S]*-----BEGIN CERTIFICATE-----/,
    );
    expect(String(encodings['openssl x509 -text output'])).toMatch(
      /^Certificate:\n\s+Data:[\s\S]*X509v3 extensions[\s\S]*-----BEGIN CERTIFICATE-----/,
    );
  });

  it('finds nothing in text that is no encoding of anything', () => {
    for (const input of ['', 'hello world', 'not base64 at all!', '-----END CERTIFICATE-----', Buffer.from([0x00, 0x01, 0x02, 0xff])]) {
      const decoded = decodeInput(input);
      expect(decoded.blocks).toEqual([]);
      expect(decoded.encoding).toBe('unknown');
    }
  });

  it('base64 of something that is neither PEM nor DER finds nothing', () => {
    expect(decodeInput(Buffer.from('just some words, base64 encoded').toString('base64')).blocks).toEqual([]);
  });

  it('does not take text that starts with "0" for DER', () => {
    const decoded = decodeInput('0\u0081 not der at all, just text that happens to start with a zero');
    expect(decoded.encoding).toBe('unknown');
  });
});

describe('decodeInput: several blocks and other types', () => {
  it('returns every block of a chain, in order', () => {
    const chain = chainOfTwo();
    const decoded = decodeInput(chain.pem);
    expect(decoded.blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'CERTIFICATE']);
    expect(decoded.blocks.map((b) => new X509Certificate(b.der).subject.replace(/\n/g, ', '))).toEqual(chain.subjects);
  });

  it('splits two DER certificates written back to back', () => {
    const other = makeCa({ cn: 'Second DER CA' });
    const decoded = decodeInput(Buffer.concat([ca.der, other.der]));
    expect(decoded.encoding).toBe('der');
    expect(decoded.blocks.map((b) => toPem(b.der))).toEqual([ca.pem, other.pem]);
  });

  it('labels each non-certificate type as its PEM armour says, and recognises the same types in DER', () => {
    for (const [name, item] of Object.entries(notCertificates(ca))) {
      expect({ name, pem: decodeInput(item.pem).blocks.map((b) => b.label) }).toEqual({ name, pem: [item.label] });
      expect({ name, der: decodeInput(item.der).blocks.map((b) => b.label) }).toEqual({ name, der: [item.label] });
      expect({ name, b64: decodeInput(item.der.toString('base64')).blocks.map((b) => b.label) }).toEqual({ name, b64: [item.label] });
      expect({ name, classified: classifyDer(item.der) }).toEqual({ name, classified: item.label });
    }
    expect(classifyDer(ca.der)).toBe('CERTIFICATE');
  });

  it('reports a BEGIN line without its END line, without letting it swallow the next block', () => {
    const truncated = ca.pem.slice(0, 200);
    const decoded = decodeInput(`${truncated}\n${rsaCa.pem}`);
    expect(decoded.unterminated).toEqual(['CERTIFICATE']);
    expect(decoded.blocks.map((b) => toPem(b.der))).toEqual([rsaCa.pem]);
    expect(decodeInput(truncated).unterminated).toEqual(['CERTIFICATE']);
    expect(decodeInput(truncated).blocks).toEqual([]);
  });

  it('skips RFC 1421 headers inside a block', () => {
    const withHeader = ca.pem.replace('-----\n', '-----\nComment: exported by a tool\n\n');
    expect(toPem(decodeInput(withHeader).blocks[0]!.der)).toBe(ca.pem);
  });
});

describe('decodeInput: private keys', () => {
  let keys: ReturnType<typeof privateKeys>;
  beforeAll(() => {
    keys = privateKeys();
  });

  it('finds each kind of PEM private key, alone or next to the certificate, and returns it as key material', () => {
    for (const [tool, key] of Object.entries(keys)) {
      expect(key.pem).toContain(`-----BEGIN ${key.label}-----`);
      for (const input of [key.pem, ca.pem + key.pem, key.pem.replace(/\n/g, '\r\n') + ca.pem]) {
        const decoded = decodeInput(input);
        expect({ tool, labels: decoded.blocks.map((b) => b.label).filter(isPrivateKeyLabel) }).toEqual({ tool, labels: [key.label] });
        expect(decoded.keyMaterial).toHaveLength(1);
        const material = decoded.keyMaterial[0]!;
        expect(material.trim()).toBe(key.pem.slice(key.pem.indexOf('-----BEGIN ' + key.label)).trim());
      }
    }
  });

  it('the ecparam output holds EC PARAMETERS and the key; only the key is key material', () => {
    const decoded = decodeInput(keys['openssl ecparam -genkey']!.pem);
    expect(decoded.blocks.map((b) => b.label)).toEqual(['EC PARAMETERS', 'EC PRIVATE KEY']);
    expect(decoded.keyMaterial.join('')).not.toContain('EC PARAMETERS');
  });

  it('base64 of a PEM key: the inner key and the base64 text itself are key material', () => {
    const key = keys['openssl genpkey']!.pem;
    const b64 = Buffer.from(ca.pem + key).toString('base64');
    const decoded = decodeInput(b64);
    expect(decoded.encoding).toBe('base64-pem');
    expect(decoded.keyMaterial).toEqual([key.trim(), b64]);
  });

  it('a key whose END line is missing is still key material, to the end of the input', () => {
    const key = keys['openssl genpkey']!.pem;
    const cut = key.slice(0, key.indexOf('-----END'));
    const decoded = decodeInput(ca.pem + cut + 'trailing words');
    expect(decoded.keyMaterial).toEqual([cut + 'trailing words']);
    expect(decoded.blocks.map((b) => b.label)).toContain('PRIVATE KEY');
  });

  it('a key BEGIN line whose closing dashes were lost is still key material', () => {
    const key = keys['openssl genrsa -traditional']!.pem;
    const mangled = key.replace('-----BEGIN RSA PRIVATE KEY-----', '-----BEGIN RSA PRIVATE KEY--');
    const decoded = decodeInput(mangled);
    expect(decoded.keyMaterial).toHaveLength(1);
    expect(decoded.keyMaterial[0]).toContain(key.split('\n')[1]);
  });

  it('a PGP private key block is key material too', () => {
    const pgp =
      '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGTestTestTestTestTestTestTestTest\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n';
    const decoded = decodeInput(pgp);
    expect(decoded.keyMaterial).toEqual([pgp.trim()]);
    expect(decoded.blocks.map((b) => b.label)).toEqual(['PGP PRIVATE KEY BLOCK']);
  });

  it('recognises DER private keys and PKCS#12 archives (raw and base64) and returns their text as key material', () => {
    for (const [label, der] of Object.entries(derPrivateKeys())) {
      const raw = decodeInput(der);
      expect({ label, got: raw.blocks.map((b) => b.label), encoding: raw.encoding }).toEqual({ label, got: [label], encoding: 'der' });
      expect(raw.keyMaterial).toEqual([toPem(der, label)]);
      const b64 = der.toString('base64');
      const wrapped = decodeInput(b64);
      expect({ label, got: wrapped.blocks.map((b) => b.label), encoding: wrapped.encoding }).toEqual({
        label,
        got: [label],
        encoding: 'base64-der',
      });
      expect(wrapped.keyMaterial).toEqual([toPem(der, label), b64]);
    }
    const p12 = pkcs12Of(ca);
    expect(decodeInput(p12).blocks.map((b) => b.label)).toEqual(['PKCS12']);
    expect(decodeInput(p12.toString('base64')).keyMaterial).toContain(p12.toString('base64'));
    const ber = Buffer.concat([Buffer.from([0x30, 0x80, 0x02, 0x01, 0x03]), Buffer.alloc(40, 7)]);
    expect(decodeInput(ber).blocks.map((b) => b.label)).toEqual(['PKCS12']);
  });

  it('finds no key material in a plain certificate, a chain, or the other PEM types', () => {
    expect(decodeInput(ca.pem).keyMaterial).toEqual([]);
    expect(decodeInput(chainOfTwo().pem).keyMaterial).toEqual([]);
    for (const item of Object.values(notCertificates(ca))) expect(decodeInput(item.pem).keyMaterial).toEqual([]);
  });
});
