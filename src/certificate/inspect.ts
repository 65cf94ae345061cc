import { X509Certificate } from 'node:crypto';
import { toPem } from './decode.js';
import { readCaExtensions, type CaExtensions } from './extensions.js';

/** What the action needs to know about one X.509 certificate, read with node:crypto and der.ts. */
export interface CertificateInfo extends CaExtensions {
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
}

/** Parses DER as X.509; throws when it is not a certificate. */
export function inspectCertificate(der: Uint8Array): CertificateInfo {
  const x509 = new X509Certificate(der);
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
    ...readCaExtensions(der),
  };
}

/** `CN=Example CA\nO=Example` (node:crypto's form) as `CN=Example CA, O=Example`. */
function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

function describeKey(x509: X509Certificate): string {
  const key = x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return `RSA ${details.modulusLength ?? '?'} bits`;
  if (key.asymmetricKeyType === 'ec') return `EC ${details.namedCurve ?? ''}`.trim();
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}
