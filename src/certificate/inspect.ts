import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  KeyUsage,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { toPem } from './decode.js';

/** What the action needs to know about one X.509 certificate, read with node:crypto and an ASN.1 library. */
export interface CertificateInfo {
  /** The clean PEM that is sent: LF endings, 64 columns, trailing newline. */
  pem: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint, colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
  selfSigned: boolean;
  publicKey: string;
  /** basicConstraints, absent when the extension is missing. */
  basicConstraints: { ca: boolean; pathLength?: number } | undefined;
  /** Hex of the Subject Key Identifier, absent when missing. */
  subjectKeyId: string | undefined;
  /** Authority Key Identifier: `keyId` is absent when only issuer and serial are given. */
  authorityKeyId: { keyId: string | undefined } | undefined;
  /** Key Usage bits by name (`keyCertSign`, `crlSign`, ...), absent when the extension is missing. */
  keyUsage: string[] | undefined;
}

/** Parses DER as X.509; throws when it is not a certificate. */
export function inspectCertificate(der: Uint8Array): CertificateInfo {
  const x509 = new X509Certificate(der);
  const asn = AsnConvert.parse(der, Certificate);
  const extensions = new Map((asn.tbsCertificate.extensions ?? []).map((e) => [e.extnID, e.extnValue.buffer]));
  const read = <T>(oid: string, type: new () => T): T | undefined => {
    const value = extensions.get(oid);
    return value === undefined ? undefined : AsnConvert.parse(value, type);
  };

  const basic = read(id_ce_basicConstraints, BasicConstraints);
  const ski = read(id_ce_subjectKeyIdentifier, SubjectKeyIdentifier);
  const aki = read(id_ce_authorityKeyIdentifier, AuthorityKeyIdentifier);
  const usage = read(id_ce_keyUsage, KeyUsage);

  return {
    pem: toPem(der),
    subject: oneLineName(x509.subject),
    issuer: oneLineName(x509.issuer),
    serialNumber: x509.serialNumber,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    fingerprint: x509.fingerprint256,
    selfSigned: x509.checkIssued(x509),
    publicKey: describeKey(x509),
    basicConstraints: basic && {
      ca: basic.cA,
      ...(basic.pathLenConstraint === undefined ? {} : { pathLength: basic.pathLenConstraint }),
    },
    subjectKeyId: ski && hex(ski.buffer),
    authorityKeyId: aki && { keyId: aki.keyIdentifier && hex(aki.keyIdentifier.buffer) },
    keyUsage: usage?.toJSON(),
  };
}

/** `CN=Example CA\nO=Example` (node:crypto's form) as `CN=Example CA, O=Example`. */
function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

function hex(bytes: ArrayBuffer): string {
  return Buffer.from(bytes)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

function describeKey(x509: X509Certificate): string {
  const key = x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return `RSA ${details.modulusLength ?? '?'} bits`;
  if (key.asymmetricKeyType === 'ec') return `EC ${details.namedCurve ?? ''}`.trim();
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}
