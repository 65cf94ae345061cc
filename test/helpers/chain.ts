/**
 * Certificate chains for client-certificate tests, made with @peculiar/x509 (through WebCrypto): CAs,
 * intermediates and client certificates with chosen extensions and dates, each signed by the one given.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export const DAY = 86_400_000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
export const CLIENT_AUTH = x509.ExtendedKeyUsage.clientAuth;
export const SERVER_AUTH = x509.ExtendedKeyUsage.serverAuth;

export interface Issued {
  pem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  keys: webcrypto.CryptoKeyPair;
  /** The distinguished name, as @peculiar/x509 takes it (`CN=..., O=Example Test`). */
  name: string;
}

export interface IssueOptions {
  cn: string;
  /** The signer; self-signed without one. */
  issuer?: Issued;
  /** basicConstraints CA:TRUE with keyCertSign and cRLSign; otherwise CA:FALSE with digitalSignature. */
  ca?: boolean;
  /** Extended Key Usage OIDs; no extension when undefined. */
  eku?: string[];
  /** Authority Key Identifier (keyid of the signer). Default true. */
  aki?: boolean;
  /** Default: a day ago. */
  notBefore?: Date;
  /** Default: in 90 days. */
  notAfter?: Date;
  /** Subject alternative names (IP addresses), for a TLS server certificate. */
  ips?: string[];
}

let serial = 0;

export async function issue(options: IssueOptions): Promise<Issued> {
  const now = Date.now();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const name = `CN=${options.cn}, O=Example Test`;
  const signer = options.issuer?.keys ?? keys;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(
      options.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.aki ?? true) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
  if (options.eku) extensions.push(new x509.ExtendedKeyUsageExtension(options.eku));
  if (options.ips) extensions.push(new x509.SubjectAlternativeNameExtension(options.ips.map((value) => ({ type: 'ip' as const, value }))));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `${(++serial).toString(16).padStart(4, '1')}${now.toString(16)}`,
    subject: name,
    issuer: options.issuer?.name ?? name,
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 90 * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { pem: `${cert.toString('pem')}\n`, keyPem, keys, name };
}
