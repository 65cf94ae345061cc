import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectCertificate } from '../../src/certificate/inspect.js';
import { makeCa, makeLeaf, openssl, type MadeCertificate } from '../helpers/certs.ts';
import { notCertificates, parseOpensslText } from './fixtures.ts';

function opensslSays(cert: MadeCertificate): ReturnType<typeof parseOpensslText> {
  return parseOpensslText(
    openssl(['x509', '-in', cert.certPath, '-noout', '-text', '-fingerprint', '-sha256'], path.dirname(cert.certPath)),
  );
}

describe('inspectCertificate', () => {
  it('reads a conforming EC CA as openssl does', () => {
    const ca = makeCa({ cn: 'Inspect CA', days: 90 });
    const info = inspectCertificate(ca.der);
    const said = opensslSays(ca);
    expect(info.pem).toBe(ca.pem);
    expect(info.subject).toBe('CN=Inspect CA, O=Example Test');
    expect(info.issuer).toBe('CN=Inspect CA, O=Example Test');
    expect(info.fingerprint).toBe(ca.fingerprint);
    expect(info.fingerprint).toBe(said.fingerprint);
    expect(info.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(info.notBefore).toEqual(ca.notBefore);
    expect(info.notAfter).toEqual(ca.notAfter);
    expect(info.notAfter).toEqual(said.notAfter);
    expect(info.selfSigned).toBe(true);
    expect(info.publicKey).toBe('EC prime256v1');
    expect(info.basicConstraints).toEqual({ ca: true });
    expect(info.subjectKeyId).toBe(said.subjectKeyId);
    expect(info.subjectKeyId).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(info.authorityKeyId).toEqual({ keyId: said.authorityKeyId });
    expect(info.authorityKeyId?.keyId).toBe(info.subjectKeyId);
    expect(info.keyUsage?.sort()).toEqual(['crlSign', 'keyCertSign']);
    expect(info.serialNumber).toMatch(/^[0-9A-F]+$/);
  });

  it('describes an RSA key by its size and reads a path length', () => {
    const ca = makeCa({ key: 'rsa', basicConstraints: 'critical,CA:TRUE,pathlen:0' });
    const info = inspectCertificate(ca.der);
    expect(info.publicKey).toBe('RSA 2048 bits');
    expect(info.basicConstraints).toEqual({ ca: true, pathLength: 0 });
  });

  it('reads a leaf: CA:FALSE, not self-signed, issued by the CA', () => {
    const ca = makeCa({ cn: 'Leaf Issuer CA' });
    const leaf = makeLeaf(ca, 'leaf.example.test');
    const info = inspectCertificate(leaf.der);
    expect(info.basicConstraints).toEqual({ ca: false });
    expect(info.selfSigned).toBe(false);
    expect(info.issuer).toBe('CN=Leaf Issuer CA, O=Example Test');
    expect(info.subject).toBe('CN=leaf.example.test');
    expect(info.keyUsage).toEqual(['digitalSignature']);
    expect(info.authorityKeyId?.keyId).toBe(inspectCertificate(ca.der).subjectKeyId);
  });

  it('reports each missing extension as absent, agreeing with openssl', () => {
    const bare = makeCa({ basicConstraints: null, keyUsage: null, subjectKeyIdentifier: 'none', authorityKeyIdentifier: 'none' });
    const info = inspectCertificate(bare.der);
    const said = opensslSays(bare);
    expect(info.basicConstraints).toBeUndefined();
    expect(info.subjectKeyId).toBeUndefined();
    expect(info.authorityKeyId).toBeUndefined();
    expect(info.keyUsage).toBeUndefined();
    expect(said).toMatchObject({ ca: false, subjectKeyId: undefined, authorityKeyId: undefined, hasKeyUsage: false });
  });

  it('tells an Authority Key Identifier without keyid (issuer and serial only) from one with it', () => {
    const issuerOnly = makeCa({ authorityKeyIdentifier: 'issuer:always' });
    const info = inspectCertificate(issuerOnly.der);
    expect(info.authorityKeyId).toEqual({ keyId: undefined });
    expect(opensslSays(issuerOnly).authorityKeyId).toBeNull();
  });

  it('reads Key Usage bits exactly, including a CA with only one of the two', () => {
    for (const [keyUsage, expected] of [
      ['critical,keyCertSign', ['keyCertSign']],
      ['critical,cRLSign', ['crlSign']],
      ['critical,digitalSignature,keyCertSign,cRLSign', ['crlSign', 'digitalSignature', 'keyCertSign']],
      ['keyCertSign,cRLSign,decipherOnly,keyAgreement', ['crlSign', 'decipherOnly', 'keyAgreement', 'keyCertSign']],
    ] as const) {
      const ca = makeCa({ keyUsage });
      const info = inspectCertificate(ca.der);
      expect({ keyUsage, got: info.keyUsage?.sort() }).toEqual({ keyUsage, got: [...expected] });
      const said = opensslSays(ca);
      expect({ keyUsage, certSign: info.keyUsage?.includes('keyCertSign'), crlSign: info.keyUsage?.includes('crlSign') }).toEqual({
        keyUsage,
        certSign: said.certificateSign,
        crlSign: said.crlSign,
      });
    }
  });

  it('reads CA:FALSE written explicitly as not a CA', () => {
    const info = inspectCertificate(makeCa({ basicConstraints: 'critical,CA:FALSE' }).der);
    expect(info.basicConstraints).toEqual({ ca: false });
  });

  it('throws on DER that is not a certificate', () => {
    const ca = makeCa();
    for (const item of Object.values(notCertificates(ca))) expect(() => inspectCertificate(item.der)).toThrow();
    expect(() => inspectCertificate(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toThrow();
    expect(() => inspectCertificate(ca.der.subarray(0, ca.der.length - 10))).toThrow();
  });
});
