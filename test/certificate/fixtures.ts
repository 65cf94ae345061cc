/**
 * Inputs for the certificate tests, each made by the real tool a user would have used: the accepted
 * encodings of one CA, the PEM types that are not a certificate, and every kind of private key.
 * Each is made once per test file (this module is loaded once per file) and the same value returned to
 * every later call with the same argument: the tests only read them, and openssl runs a few times per
 * file rather than a few times per test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeCa, makeLeaf, openssl, tempDir, type MadeCertificate } from '../helpers/certs.ts';

/** `make`, called once per distinct key (compared with ===, so a certificate object is its own key). */
function once<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  return (key) => {
    if (!made.has(key)) made.set(key, make(key));
    return made.get(key)!;
  };
}

/** Every accepted way of writing `ca`; each must decode to exactly `ca.pem`. */
export const encodingsOf = once((ca: MadeCertificate): Record<string, string | Buffer> => {
  const dir = path.dirname(ca.certPath);
  const p12 = path.join(dir, `export-${path.basename(ca.certPath)}.p12`);
  openssl(['pkcs12', '-export', '-in', ca.certPath, '-inkey', ca.keyPath, '-out', p12, '-passout', 'pass:x'], dir);
  const pkcs12Text = openssl(['pkcs12', '-in', p12, '-nokeys', '-passin', 'pass:x'], dir);
  const x509Text = openssl(['x509', '-in', ca.certPath, '-text'], dir);
  const wrapped76 =
    Buffer.from(ca.pem)
      .toString('base64')
      .match(/.{1,76}/g)!
      .join('\n') + '\n';
  return {
    'PEM as openssl wrote it': ca.pem,
    'PEM with CRLF line endings': ca.pem.replace(/\n/g, '\r\n'),
    'PEM with a UTF-8 byte-order mark': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ca.pem)]),
    'PEM with CRLF and a byte-order mark': '\uFEFF' + ca.pem.replace(/\n/g, '\r\n'),
    'PEM with blank lines around and inside': `\n\n${ca.pem.replace('-----\n', '-----\n\n').replace(/\n(-----END)/, '\n\n$1')}\n\n\n`,
    'PEM with text before and after': `Our mTLS CA, issued by the security team:\n\n${ca.pem}\nRotate yearly.\n`,
    'PEM with indented lines': ca.pem
      .split('\n')
      .map((l) => (l ? `    ${l}` : l))
      .join('\n'),
    'PEM on one line, breaks turned into spaces': ca.pem.trim().replace(/\n/g, ' '),
    'PEM with escaped \\n (as in JSON)': JSON.stringify(ca.pem).slice(1, -1),
    'openssl x509 -text output': x509Text,
    'openssl pkcs12 -nokeys export (Bag Attributes)': pkcs12Text,
    'base64 of the PEM, one line': Buffer.from(ca.pem).toString('base64'),
    'base64 of the PEM, wrapped at 76 columns': wrapped76,
    'base64 of a CRLF PEM with a byte-order mark': Buffer.from('\uFEFF' + ca.pem.replace(/\n/g, '\r\n')).toString('base64'),
    DER: ca.der,
    'DER with a trailing newline': Buffer.concat([ca.der, Buffer.from('\n')]),
    'base64 of the DER': ca.der.toString('base64'),
    'base64 of the DER, wrapped at 64 columns': ca.der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n'),
    'PEM in UTF-16LE with a byte-order mark (Windows PowerShell)': Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(ca.pem.replace(/\n/g, '\r\n'), 'utf16le'),
    ]),
  };
});

export interface KeyKind {
  /** The PEM label the tool writes. */
  label: string;
  pem: string;
}

/** One private key of each kind, made by the command named in the key. */
export const privateKeys = (): Record<string, KeyKind> => makePrivateKeys(undefined);
const makePrivateKeys = once((): Record<string, KeyKind> => {
  const dir = tempDir('mtls-keys-');
  const rsa = openssl(['genrsa', '-traditional', '2048'], dir);
  fs.writeFileSync(path.join(dir, 'rsa.pem'), rsa);
  const pkcs8 = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], dir);
  fs.writeFileSync(path.join(dir, 'pkcs8.pem'), pkcs8);
  return {
    'openssl genrsa -traditional': { label: 'RSA PRIVATE KEY', pem: rsa },
    'openssl ecparam -genkey': { label: 'EC PRIVATE KEY', pem: openssl(['ecparam', '-name', 'prime256v1', '-genkey'], dir) },
    'openssl genpkey': { label: 'PRIVATE KEY', pem: pkcs8 },
    'openssl genpkey -algorithm ed25519': { label: 'PRIVATE KEY', pem: openssl(['genpkey', '-algorithm', 'ed25519'], dir) },
    'openssl pkcs8 -topk8 -v2 aes256 (encrypted)': {
      label: 'ENCRYPTED PRIVATE KEY',
      pem: openssl(['pkcs8', '-topk8', '-v2', 'aes256', '-in', 'pkcs8.pem', '-passout', 'pass:x'], dir),
    },
    'openssl rsa -aes256 -traditional (Proc-Type headers)': {
      label: 'RSA PRIVATE KEY',
      pem: openssl(['rsa', '-in', 'rsa.pem', '-aes256', '-traditional', '-passout', 'pass:x'], dir),
    },
  };
});

/** DER private keys (as `-outform DER` writes them), by the PEM label their PEM form has. */
export const derPrivateKeys = (): Record<string, Buffer> => makeDerPrivateKeys(undefined);
const makeDerPrivateKeys = once((): Record<string, Buffer> => {
  const dir = tempDir('mtls-derkeys-');
  fs.writeFileSync(path.join(dir, 'rsa.pem'), openssl(['genrsa', '-traditional', '2048'], dir));
  fs.writeFileSync(path.join(dir, 'ec.pem'), openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], dir));
  const der = (args: string[]): Buffer => {
    openssl([...args, '-outform', 'DER', '-out', 'out.der'], dir);
    return fs.readFileSync(path.join(dir, 'out.der'));
  };
  return {
    'PRIVATE KEY': der(['pkcs8', '-topk8', '-nocrypt', '-in', 'ec.pem']),
    'RSA PRIVATE KEY': der(['rsa', '-in', 'rsa.pem', '-traditional']),
    'EC PRIVATE KEY': der(['ec', '-in', 'ec.pem']),
    'ENCRYPTED PRIVATE KEY': der(['pkcs8', '-topk8', '-v2', 'aes256', '-in', 'ec.pem', '-passout', 'pass:x']),
  };
});

export interface NotACertificate {
  /** The PEM label, e.g. `CERTIFICATE REQUEST`. */
  label: string;
  pem: string;
  der: Buffer;
  /** Words the refusal must contain. */
  named: RegExp;
}

/** The PEM types a user may paste by mistake, made from `ca` with the commands in the brief. */
export const notCertificates = once((ca: MadeCertificate): Record<string, NotACertificate> => {
  const dir = tempDir('mtls-types-');
  const toDer = (args: string[], pem: string): Buffer => {
    fs.writeFileSync(path.join(dir, 'in.pem'), pem);
    openssl([...args, '-in', 'in.pem', '-outform', 'DER', '-out', 'out.der'], dir);
    return fs.readFileSync(path.join(dir, 'out.der'));
  };

  const csr = openssl(['req', '-new', '-key', ca.keyPath, '-subj', '/CN=Requested CA'], dir);
  const pkcs7 = openssl(['crl2pkcs7', '-nocrl', '-certfile', ca.certPath], dir);
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n',
  );
  openssl(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', ca.keyPath, '-cert', ca.certPath, '-out', 'crl.pem'], dir);
  const crl = fs.readFileSync(path.join(dir, 'crl.pem'), 'utf8');
  const publicKey = openssl(['pkey', '-in', ca.keyPath, '-pubout'], dir);
  return {
    'CSR (openssl req -new)': {
      label: 'CERTIFICATE REQUEST',
      pem: csr,
      der: toDer(['req'], csr),
      named: /certificate signing request \(CSR\)/,
    },
    'PKCS#7 (openssl crl2pkcs7 -nocrl -certfile)': { label: 'PKCS7', pem: pkcs7, der: toDer(['pkcs7'], pkcs7), named: /PKCS#7/ },
    'CRL (openssl ca -gencrl)': { label: 'X509 CRL', pem: crl, der: toDer(['crl'], crl), named: /certificate revocation list \(CRL\)/ },
    'public key (openssl pkey -pubout)': {
      label: 'PUBLIC KEY',
      pem: publicKey,
      der: toDer(['pkey', '-pubin'], publicKey),
      named: /a public key/,
    },
  };
});

/** A PKCS#12 archive (binary) holding `ca` and its key, as `openssl pkcs12 -export` writes it. */
export const pkcs12Of = once((ca: MadeCertificate): Buffer => {
  const dir = tempDir('mtls-p12-');
  openssl(['pkcs12', '-export', '-in', ca.certPath, '-inkey', ca.keyPath, '-out', 'ca.p12', '-passout', 'pass:x'], dir);
  return fs.readFileSync(path.join(dir, 'ca.p12'));
});

/** A chain of two: a leaf and its CA, in that order, as a TLS server would send it. */
export const chainOfTwo = (cn = 'Chain Root CA'): { pem: string; subjects: string[] } => makeChainOfTwo(cn);
const makeChainOfTwo = once((cn: string): { pem: string; subjects: string[] } => {
  const ca = makeCa({ cn });
  const leaf = makeLeaf(ca, 'chain-leaf.example.test');
  return { pem: leaf.pem + ca.pem, subjects: ['CN=chain-leaf.example.test', `CN=${cn}, O=Example Test`] };
});

/** A CA with a `subjectAltName` long enough to make its PEM larger than 16 KB. */
export const makeHugeCa = (): MadeCertificate => makeHugeCaOnce(undefined);
const makeHugeCaOnce = once((): MadeCertificate => {
  const names = Array.from({ length: 700 }, (_, i) => `DNS:host-${String(i).padStart(4, '0')}.a-rather-long-internal-domain.example.test`);
  return makeCa({ cn: 'Huge CA', extra: [`subjectAltName = ${names.join(',')}`] });
});

/** The lines of a PEM key that are secret: all but armour, trimmed, non-empty. */
export function secretLines(keyPem: string): string[] {
  return keyPem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^-----(BEGIN|END) /.test(l));
}

/** What `openssl x509 -noout -text` (plus `-fingerprint -sha256`) says about the rules we check. */
export interface OpensslVerdict {
  ca: boolean;
  /** Hex as openssl prints it, upper case with colons; undefined when absent. */
  subjectKeyId: string | undefined;
  /** `undefined`: no AKI; `null`: AKI without a keyid; else the keyid hex. */
  authorityKeyId: string | null | undefined;
  hasKeyUsage: boolean;
  certificateSign: boolean;
  crlSign: boolean;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string | undefined;
}

const HEX_LINE = /^(?:keyid:)?([0-9A-F]{2}(?::[0-9A-F]{2})*)$/;

export function parseOpensslText(text: string): OpensslVerdict {
  const raw = text.split('\n');
  const indent = (line: string): number => line.length - line.trimStart().length;
  const headerAt = (header: RegExp): number => raw.findIndex((l) => header.test(l.trim()));
  /** The value lines of an extension: those after its header, indented deeper than it. */
  const valueOf = (header: RegExp): string[] | undefined => {
    const at = headerAt(header);
    if (at < 0) return undefined;
    const out: string[] = [];
    for (const line of raw.slice(at + 1)) {
      if (indent(line) <= indent(raw[at]!)) break;
      out.push(line.trim());
    }
    return out;
  };
  const hexOf = (values: string[] | undefined): string | undefined => values?.map((l) => HEX_LINE.exec(l)?.[1]).find(Boolean);
  const basic = valueOf(/^X509v3 Basic Constraints:/);
  const aki = valueOf(/^X509v3 Authority Key Identifier:/);
  const usage = valueOf(/^X509v3 Key Usage:/);
  const usageText = (usage ?? []).join(', ');
  const date = (label: string): Date =>
    new Date(
      raw
        .find((l) => l.trim().startsWith(label))!
        .trim()
        .slice(label.length)
        .trim(),
    );
  return {
    ca: (basic ?? []).some((l) => /(^|, )CA:TRUE(,|$)/.test(l)),
    subjectKeyId: hexOf(valueOf(/^X509v3 Subject Key Identifier:/)),
    authorityKeyId: aki === undefined ? undefined : (hexOf(aki) ?? null),
    hasKeyUsage: usage !== undefined,
    certificateSign: /(^|, )Certificate Sign(,|$)/.test(usageText),
    crlSign: /(^|, )CRL Sign(,|$)/.test(usageText),
    notBefore: date('Not Before:'),
    notAfter: date('Not After :'),
    fingerprint: /^sha256 Fingerprint=(.*)$/im.exec(text)?.[1]?.trim(),
  };
}
