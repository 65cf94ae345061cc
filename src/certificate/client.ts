/**
 * Local checks of a client certificate input (a PEM chain: the leaf first, then the intermediates that
 * issued it, in order) and its private key, before anything is sent. Pure: `checkClientCertificate`
 * reads nothing but its arguments and logs nothing; `assertClientCertificate` turns its problems into
 * an InputError. Messages name subjects and inputs only: a private key is never quoted.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { InputError } from '../errors.js';
import { isoSeconds, seconds } from '../time.js';
import { decodeInput } from './decode.js';
import { readCaExtensions, type CaExtensions } from './extensions.js';

/** The two inputs, and the names they go by in messages (e.g. `client-certificate`, `client-key`). */
export interface ClientCertificateInput {
  certificate: string;
  key: string;
  certificateInput: string;
  keyInput: string;
}

export interface ClientCheckOptions {
  now: Date;
  /** Require an Authority Key Identifier (keyIdentifier form) on the leaf, as OpenAI does for client certificates. */
  requireAuthorityKeyId?: boolean;
  /** The CA the chain must end at (PEM or DER): the last certificate is this CA itself or is issued by it. */
  issuingCa?: string | Uint8Array;
}

type ClientProblemKind =
  | 'decoding'
  | 'private-key-in-certificate'
  | 'key-unreadable'
  | 'key-mismatch'
  | 'leaf-is-ca'
  | 'expired'
  | 'not-yet-valid'
  | 'extended-key-usage'
  | 'authority-key-identifier'
  | 'chain-order'
  | 'intermediate-not-ca'
  | 'issuing-ca';

interface ClientProblem {
  kind: ClientProblemKind;
  /** The input the problem is in, as named in ClientCertificateInput. */
  input: string;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  hint: string;
}

export interface ChainEntry {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
}

export interface ClientCertificateCheck {
  /** Empty when the certificate and key may be used. */
  problems: ClientProblem[];
  /** The certificates as given, leaf first; empty when the input did not decode. */
  chain: ChainEntry[];
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_NAMES: Record<string, string> = {
  [SERVER_AUTH]: 'serverAuth',
  [CLIENT_AUTH]: 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

const LEAF_RECIPE =
  'A client certificate is issued like this: openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -subj "/CN=ci-runner" -out client.csr, then ' +
  'openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -days 90 -extfile client.ext -out client.pem, where client.ext holds ' +
  '"basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth" and "authorityKeyIdentifier=keyid:always".';

interface Parsed {
  x509: X509Certificate;
  extensions: CaExtensions | undefined;
  entry: ChainEntry;
}

/** Every problem with a client certificate chain and its key, judged at `now`. */
export function checkClientCertificate(input: ClientCertificateInput, options: ClientCheckOptions): ClientCertificateCheck {
  const { certificateInput: certName, keyInput: keyName } = input;
  const problems: ClientProblem[] = [];
  const add = (kind: ClientProblemKind, inputName: string, message: string, hint: string): void =>
    void problems.push({ kind, input: inputName, message, hint });

  const decoded = decodeInput(input.certificate);
  if (decoded.keyMaterial.length > 0) {
    add(
      'private-key-in-certificate',
      certName,
      `${certName} contains a private key. It is not shown.`,
      `Put only the certificates in ${certName} (leaf first, then intermediates) and the private key alone in ${keyName}, both from secrets.`,
    );
    return { problems, chain: [] };
  }
  const blocks = decoded.blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
  const others = decoded.blocks.filter((b) => !blocks.includes(b)).map((b) => b.label);
  const notPem = decoded.encoding !== 'pem';
  if (blocks.length === 0 || others.length > 0 || notPem || decoded.unterminated.length > 0) {
    const found =
      blocks.length === 0
        ? 'no certificate'
        : others.length > 0
          ? `a block that is not a certificate (-----BEGIN ${others[0]}-----)`
          : decoded.unterminated.length > 0
            ? `a truncated block (-----BEGIN ${decoded.unterminated[0]}----- without its END line)`
            : `certificates, but not as PEM text (${decoded.encoding})`;
    add(
      'decoding',
      certName,
      `${certName} holds ${found}; it must be PEM text: the client certificate, then the intermediates that issued it.`,
      `Pass the PEM from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE----- for each certificate, leaf first (for example: cat client.pem intermediate.pem), from a secret. DER converts with openssl x509 -inform der -in client.der -out client.pem.`,
    );
    return { problems, chain: [] };
  }

  const parsed: Parsed[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      const x509 = new X509Certificate(block.der);
      let extensions: CaExtensions | undefined;
      try {
        extensions = readCaExtensions(block.der);
      } catch {
        extensions = undefined;
      }
      parsed.push({
        x509,
        extensions,
        entry: {
          subject: oneLine(x509.subject),
          issuer: oneLine(x509.issuer),
          notBefore: new Date(x509.validFrom),
          notAfter: new Date(x509.validTo),
        },
      });
    } catch {
      add(
        'decoding',
        certName,
        `Certificate ${index + 1} of ${certName} does not parse as X.509.`,
        'The base64 may be truncated or edited: export it again and check it with openssl x509 -in client.pem -noout -text.',
      );
      return { problems, chain: [] };
    }
  }
  const chain = parsed.map((p) => p.entry);
  const leaf = parsed[0]!;
  const position = (i: number): string => `certificate ${i + 1} of ${certName} (${parsed[i]!.entry.subject})`;

  // The key: readable, and the leaf's. When it belongs to a later certificate, the order is the trouble.
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(input.key);
  } catch {
    key = undefined;
    add(
      'key-unreadable',
      keyName,
      `${certName} or ${keyName} could not be read: ${keyName} is not an unencrypted PEM private key. It is not shown.`,
      `Pass the client certificate's private key as unencrypted PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----); an encrypted key converts with openssl pkey -in client.key -out client-plain.key.`,
    );
  }
  if (key && !matches(leaf.x509, key)) {
    const owner = parsed.findIndex((p, i) => i > 0 && matches(p.x509, key));
    add(
      'key-mismatch',
      keyName,
      owner > 0
        ? `${keyName} is the key of ${position(owner)}, not of the first one: the client certificate must come first in ${certName}.`
        : `${keyName} is not the private key of ${certName} (the client certificate ${leaf.entry.subject}).`,
      owner > 0
        ? `Order ${certName} leaf first, then the certificate that issued it, and so on.`
        : `Pass the key that was made with this certificate (openssl x509 -in client.pem -noout -pubkey and openssl pkey -in client.key -pubout print the same public key when they belong together).`,
    );
  }

  if (leaf.extensions?.basicConstraints?.ca) {
    add(
      'leaf-is-ca',
      certName,
      `The first certificate of ${certName} (${leaf.entry.subject}) is a CA certificate (basicConstraints CA:TRUE), not a client certificate.`,
      `Pass a client certificate issued by the CA (CA:FALSE), then its intermediates; the CA itself is what is uploaded and activated. ${LEAF_RECIPE}`,
    );
  }

  // node:crypto calls the Extended Key Usage purposes `keyUsage`: a list of OIDs, undefined without the extension.
  const purposes = leaf.x509.keyUsage as string[] | undefined;
  if (purposes && !purposes.includes(CLIENT_AUTH) && !purposes.includes(ANY_EXTENDED_KEY_USAGE)) {
    add(
      'extended-key-usage',
      certName,
      `The client certificate in ${certName} (${leaf.entry.subject}) is not meant for TLS client authentication: its Extended Key Usage is ${purposes.map((oid) => EKU_NAMES[oid] ?? oid).join(', ') || 'empty'}, without clientAuth.`,
      `Issue it with extendedKeyUsage=clientAuth (or leave the extension out). ${LEAF_RECIPE}`,
    );
  }

  if (options.requireAuthorityKeyId && !leaf.extensions?.authorityKeyId?.keyId) {
    add(
      'authority-key-identifier',
      certName,
      `The client certificate in ${certName} (${leaf.entry.subject}) has no Authority Key Identifier${leaf.extensions?.authorityKeyId ? ' keyIdentifier (only issuer and serial)' : ''}; OpenAI needs one to find the CA it chains to.`,
      `Issue it with authorityKeyIdentifier=keyid:always. ${LEAF_RECIPE}`,
    );
  }

  const now = options.now.getTime();
  for (const [i, p] of parsed.entries()) {
    if (p.entry.notAfter.getTime() <= now) {
      add(
        'expired',
        certName,
        `${capitalise(position(i))} expired on ${isoSeconds(seconds(p.entry.notAfter))}.`,
        i === 0
          ? 'Issue a new client certificate and store it (and its key) in the secrets.'
          : 'Replace the expired intermediate with its current one.',
      );
    } else if (p.entry.notBefore.getTime() > now) {
      add(
        'not-yet-valid',
        certName,
        `${capitalise(position(i))} is not valid yet: it becomes valid on ${isoSeconds(seconds(p.entry.notBefore))}.`,
        'Wait until then, or issue it again from a machine whose clock is right.',
      );
    }
  }

  // Each certificate must be issued by the next one: OpenAI verifies the chain in the order given.
  for (let i = 0; i + 1 < parsed.length; i++) {
    const child = parsed[i]!;
    const parent = parsed[i + 1]!;
    if (!issuedBy(child.x509, parent.x509)) {
      const reversed = parsed.length > 1 && parsed.every((p, j) => j === 0 || issuedBy(p.x509, parsed[j - 1]!.x509));
      add(
        'chain-order',
        certName,
        `${certName} is not a chain in order: ${position(i)} is not issued by ${position(i + 1)}${reversed ? ' (the certificates are in reverse order)' : ''}.`,
        `Order ${certName} leaf first, then the certificate that issued it, and so on up to (not necessarily including) the CA; leave out certificates that do not belong to the chain.`,
      );
      break;
    }
    if (!parent.extensions?.basicConstraints?.ca) {
      add(
        'intermediate-not-ca',
        certName,
        `${capitalise(position(i + 1))} is not a CA certificate (no basicConstraints CA:TRUE), so it cannot issue ${i === 0 ? 'the client certificate' : position(i)}.`,
        `Only the client certificate and the intermediate CAs that issued it belong in ${certName}.`,
      );
    }
  }

  if (options.issuingCa !== undefined) {
    const ca = parseCa(options.issuingCa);
    const last = parsed.at(-1)!;
    const reaches = ca !== undefined && (Buffer.from(last.x509.raw).equals(Buffer.from(ca.raw)) || issuedBy(last.x509, ca));
    if (!reaches) {
      add(
        'issuing-ca',
        certName,
        `${certName} does not chain to the CA certificate being rotated in${ca ? ` (${oneLine(ca.subject)})` : ''}: ${parsed.length === 1 ? 'the client certificate' : `its last certificate (${last.entry.subject})`} is issued by ${last.entry.issuer}.`,
        `Pass a client certificate issued by the new CA (with any intermediates between them, leaf first): that is the certificate the canary proves. openssl verify -CAfile new-ca.pem -untrusted intermediates.pem client.pem checks it.`,
      );
    }
  }

  return { problems, chain };
}

/** Throws an InputError for the first problem found (naming its input), or returns the chain. */
export function assertClientCertificate(input: ClientCertificateInput, options: ClientCheckOptions): ChainEntry[] {
  const { problems, chain } = checkClientCertificate(input, options);
  const [first, ...rest] = problems;
  if (!first) return chain;
  const more = rest.length > 0 ? ` Also: ${rest.map((p) => p.message).join(' ')}` : '';
  throw new InputError(first.input, `${first.message} Nothing was sent.${more}`, first.hint);
}

function matches(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function parseCa(ca: string | Uint8Array): X509Certificate | undefined {
  const block = decodeInput(ca).blocks.find((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
  if (!block) return undefined;
  try {
    return new X509Certificate(block.der);
  } catch {
    return undefined;
  }
}

/** `CN=Example\nO=Example` (node:crypto's form) as `CN=Example, O=Example`. */
function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
