/**
 * Test certificates, made at test time by real tools: the `openssl` command for the usual shapes, and
 * the maintained @peculiar/x509 library where a date in the past or a few hours ahead is needed
 * (openssl 3.0's `req -x509` cannot set notBefore or notAfter).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export interface MadeCertificate {
  pem: string;
  keyPem: string;
  der: Buffer;
  /** As `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  certPath: string;
  keyPath: string;
}

export interface CaOptions {
  cn?: string;
  days?: number;
  key?: 'ec' | 'rsa';
  /** Extension lines for the openssl config; `undefined` keeps the conforming default. */
  basicConstraints?: string | null;
  keyUsage?: string | null;
  subjectKeyIdentifier?: string | null;
  authorityKeyIdentifier?: string | null;
  extra?: string[];
}

let counter = 0;
const made: string[] = [];

/** A new directory under the system's temporary directory, removed when the test file (or script) ends. */
export function tempDir(prefix = 'mtls-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

// Under vitest this module is loaded once per test file (files are isolated), while the file's tests are
// collected: an afterAll registered now runs after the file's last test and its own hooks. Outside vitest
// (bench/bench.mjs, scripts/demo.mjs), the directories go when the process exits.
if (process.env.VITEST) {
  const { afterAll } = await import('vitest');
  afterAll(removeTempDirs);
} else {
  process.on('exit', removeTempDirs);
}

export function openssl(args: string[], cwd: string, input?: string): string {
  return execFileSync('openssl', args, { cwd, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

/** A CA made with `openssl req -x509` and an explicit extension section (null leaves one out). */
export function makeCa(options: CaOptions = {}): MadeCertificate {
  const dir = tempDir();
  const name = `ca${++counter}`;
  const ext = [
    extLine('basicConstraints', options.basicConstraints, 'critical,CA:TRUE'),
    extLine('keyUsage', options.keyUsage, 'critical,keyCertSign,cRLSign'),
    extLine('subjectKeyIdentifier', options.subjectKeyIdentifier, 'hash'),
    extLine('authorityKeyIdentifier', options.authorityKeyIdentifier, 'keyid:always'),
    ...(options.extra ?? []),
  ].filter(Boolean);
  const config = [
    '[req]',
    'distinguished_name = dn',
    'x509_extensions = ext',
    'prompt = no',
    '[dn]',
    `CN = ${options.cn ?? 'Test mTLS CA'}`,
    'O = Example Test',
    '[ext]',
    ...ext,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'ca.cnf'), config);
  const keyArgs = options.key === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(
    [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      String(options.days ?? 365),
      '-config',
      'ca.cnf',
    ],
    dir,
  );
  return load(path.join(dir, `${name}.pem`), path.join(dir, `${name}.key`));
}

/** A leaf certificate signed by `ca` with openssl, CA:FALSE: a client certificate, or a server one for 127.0.0.1. */
export function makeLeaf(
  ca: MadeCertificate,
  cn = 'client.example.test',
  days = 200,
  usage: 'client' | 'server' = 'client',
): MadeCertificate {
  const dir = tempDir();
  const eku =
    usage === 'server' ? 'extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage = clientAuth\n';
  fs.writeFileSync(
    path.join(dir, 'leaf.ext'),
    `basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n${eku}subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n`,
  );
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
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-CAcreateserial',
      '-days',
      String(days),
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.pem',
    ],
    dir,
  );
  return load(path.join(dir, 'leaf.pem'), path.join(dir, 'leaf.key'));
}

/** A conforming CA with chosen validity dates, made with @peculiar/x509 (an RSA or EC key via WebCrypto). */
export async function makeDatedCa(notBefore: Date, notAfter: Date, cn = 'Dated Test CA'): Promise<MadeCertificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Date.now().toString(16) + String(++counter),
    name: `CN=${cn}, O=Example Test`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const dir = tempDir();
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  fs.writeFileSync(path.join(dir, 'ca.pem'), cert.toString('pem') + '\n');
  fs.writeFileSync(
    path.join(dir, 'ca.key'),
    `-----BEGIN PRIVATE KEY-----\n${pkcs8
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n')}\n-----END PRIVATE KEY-----\n`,
  );
  return load(path.join(dir, 'ca.pem'), path.join(dir, 'ca.key'));
}

function extLine(name: string, value: string | null | undefined, fallback: string): string {
  if (value === null) return '';
  return `${name} = ${value ?? fallback}`;
}

function load(certPath: string, keyPath: string): MadeCertificate {
  const pem = fs.readFileSync(certPath, 'utf8');
  const keyPem = fs.readFileSync(keyPath, 'utf8');
  const parsed = new X509Certificate(pem);
  return {
    pem,
    keyPem,
    der: Buffer.from(parsed.raw),
    // Upper-case hex pairs joined by colons, the form `openssl x509 -noout -fingerprint -sha256` prints,
    // computed here rather than by one more openssl process per certificate.
    fingerprint: parsed.fingerprint256,
    notBefore: new Date(parsed.validFrom),
    notAfter: new Date(parsed.validTo),
    certPath,
    keyPath,
  };
}
