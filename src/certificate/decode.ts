/**
 * Turns whatever a user put in a secret or a file into PEM blocks: PEM with CRLF endings, a byte-order
 * mark (UTF-8, or UTF-16 as Windows PowerShell writes files), blank lines or text around it (as
 * `openssl x509 -text` or a PKCS#12 export prints it), base64 of a whole PEM, bare base64 of DER, or a
 * DER file. DER is recognised by its structure, so a DER private key, CSR, CRL, PKCS#7 or PKCS#12 file
 * is named for what it is instead of being taken for a certificate. Pure: nothing is logged here.
 */

import { BIT_STRING, CONTEXT_0, GENERALIZED_TIME, INTEGER, OCTET_STRING, OID, SEQUENCE, UTC_TIME, oidOf, parseObject } from './der.js';

export type InputEncoding = 'pem' | 'base64-pem' | 'der' | 'base64-der' | 'unknown';

export interface PemBlock {
  /** The label between `BEGIN` and the dashes, e.g. `CERTIFICATE`, `EC PRIVATE KEY`; for DER, the type it was recognised as. */
  label: string;
  /** The DER bytes (base64 body decoded; PEM headers such as `Proc-Type` are skipped). */
  der: Buffer;
  /** The block as it stood in the input, armour included (for DER, its PEM form). */
  text: string;
}

export interface DecodedInput {
  encoding: InputEncoding;
  blocks: PemBlock[];
  /**
   * Texts that must be masked because they hold private-key material: each key block, and the raw
   * input as well when it was a base64 wrapper around a key (base64 of a PEM or of DER).
   */
  keyMaterial: string[];
  /** Labels of `-----BEGIN x-----` lines that have no matching `-----END x-----` line (truncated or mangled PEM). */
  unterminated: string[];
}

/** A whole PEM block; the body may not contain a run of dashes, so a BEGIN without END cannot swallow the next block. */
const BLOCK = /-----BEGIN ([A-Z0-9 #]+)-----[ \t]*\n?((?:(?!-----)[\s\S])*?)-----END \1-----/g;
const BEGIN_LINE = /-----BEGIN ([A-Z0-9 #]+)-----/g;
/** Any private-key armour, also `PGP PRIVATE KEY BLOCK` and a BEGIN line whose closing dashes were lost. */
const KEY_BEGIN = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*?)(?=-|\n|$)/g;
const PRIVATE_KEY_LABEL = /PRIVATE KEY/;

export function decodeInput(input: Uint8Array | string): DecodedInput {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const der = splitDer(bytes);
  if (der) return fromDer(der, 'der');

  const text = normaliseText(decodeText(bytes));
  if (text.includes('-----BEGIN ')) return fromPem(text, 'pem');

  const unwrapped = unwrapBase64(text);
  if (unwrapped) {
    const innerDer = splitDer(unwrapped);
    if (innerDer) {
      const decoded = fromDer(innerDer, 'base64-der');
      // The base64 text itself encodes the key: mask it too.
      if (decoded.keyMaterial.length > 0) decoded.keyMaterial.push(text.trim());
      return decoded;
    }
    const inner = normaliseText(decodeText(unwrapped));
    if (inner.includes('-----BEGIN ')) {
      const decoded = fromPem(inner, 'base64-pem');
      if (decoded.keyMaterial.length > 0) decoded.keyMaterial.push(text.trim());
      return decoded;
    }
  }
  return { encoding: 'unknown', blocks: [], keyMaterial: [], unterminated: [] };
}

/** Encodes DER as one clean PEM block: LF endings, 64-column base64, trailing newline. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Labels whose content is secret: every kind of private key, and PKCS#12 archives (which normally hold one). */
export function isPrivateKeyLabel(label: string): boolean {
  return PRIVATE_KEY_LABEL.test(label) || label === 'PKCS12';
}

function fromPem(text: string, encoding: InputEncoding): DecodedInput {
  const blocks: PemBlock[] = [];
  const complete = new Set<number>();
  for (const match of text.matchAll(BLOCK)) {
    complete.add(match.index);
    blocks.push({ label: match[1] ?? '', der: decodeBody(match[2] ?? ''), text: match[0] });
  }
  // Key material runs from a private-key BEGIN line to its END line or, when that is missing or
  // mangled, to the end of the input: none of it may ever be echoed.
  const keyMaterial: string[] = [];
  for (const begin of text.matchAll(KEY_BEGIN)) {
    const label = (begin[1] ?? '').trim() || 'PRIVATE KEY';
    const endLine = `-----END ${label}`;
    const endAt = text.indexOf(endLine, begin.index);
    let keyEnd = text.length;
    if (endAt >= 0) {
      const lineEnd = text.indexOf('\n', endAt);
      keyEnd = lineEnd < 0 ? text.length : lineEnd;
    }
    keyMaterial.push(text.slice(begin.index, keyEnd));
    if (!complete.has(begin.index)) blocks.push({ label, der: Buffer.alloc(0), text: text.slice(begin.index, keyEnd) });
  }
  const unterminated: string[] = [];
  for (const begin of text.matchAll(BEGIN_LINE)) {
    const label = begin[1] ?? '';
    if (!complete.has(begin.index) && !isPrivateKeyLabel(label)) unterminated.push(label);
  }
  return { encoding, blocks, keyMaterial, unterminated };
}

function fromDer(objects: Buffer[], encoding: InputEncoding): DecodedInput {
  const blocks = objects.map((der) => {
    const label = classifyDer(der);
    return { label, der, text: toPem(der, label) };
  });
  const keyMaterial = blocks.filter((b) => isPrivateKeyLabel(b.label)).map((b) => b.text);
  return { encoding, blocks, keyMaterial, unterminated: [] };
}

/** The base64 body of a block, without RFC 1421 headers (`Proc-Type: ...`, `DEK-Info: ...`). */
function decodeBody(body: string): Buffer {
  const lines = body.split('\n').filter((line) => !/^[A-Za-z-]+:/.test(line.trim()));
  return Buffer.from(lines.join('').replace(/\s+/g, ''), 'base64');
}

/** UTF-8 unless the bytes start with a UTF-16 byte-order mark. */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2, 2 + ((bytes.length - 2) & ~1)));
    return swapped.swap16().toString('utf16le');
  }
  return bytes.toString('utf8');
}

function normaliseText(text: string): string {
  let out = text.replace(/^\s*\uFEFF/, '').replace(/\r\n?/g, '\n');
  // A PEM pasted with its line breaks escaped (`\n`, as in JSON): base64 never holds a backslash.
  if (/-----BEGIN [A-Z0-9 #]+-----(?:\\r)?\\n/.test(out)) out = out.replace(/\\r\\n|\\n|\\r/g, '\n');
  return out;
}

function unwrapBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const decoded = Buffer.from(compact, 'base64');
  return decoded.length > 0 ? decoded : undefined;
}

// ----- DER ----------------------------------------------------------------------------------------
// Read with der.ts; only the outline is read here.

/**
 * Splits the input into DER objects when it is nothing but SEQUENCEs back to back (trailing white
 * space or NUL bytes allowed); undefined for anything else, e.g. text.
 */
function splitDer(bytes: Buffer): Buffer[] | undefined {
  // A PKCS#12 file from some tools is BER with indefinite lengths; one that starts like it is taken for
  // one even when it does not parse (truncated, say), so that it is treated as key material.
  if (bytes.subarray(0, 5).equals(BER_PKCS12_START)) return [bytes];
  // Every supported structure is a SEQUENCE: 0x30 then a length. Text never starts that way (0x30 is "0").
  if (bytes[0] !== SEQUENCE || (bytes[1] ?? 0) < 0x02) return undefined;
  const padding = (at: number): boolean => bytes.subarray(at).every((b) => [0x00, 0x09, 0x0a, 0x0d, 0x20].includes(b));
  const objects: Buffer[] = [];
  for (let at = 0; at < bytes.length && !(objects.length > 0 && padding(at));) {
    // A chain is a handful of certificates; thousands of objects are not a certificate input at all.
    if (objects.length >= MAX_DER_OBJECTS) return undefined;
    const parsed = parseObject(bytes.subarray(at));
    if (!parsed || parsed.node.tag !== SEQUENCE || parsed.node.children.length === 0) return undefined;
    objects.push(bytes.subarray(at, at + parsed.length));
    at += parsed.length;
  }
  return objects.length > 0 ? objects : undefined;
}

const SIGNED_DATA_OID = '1.2.840.113549.1.7.2';
const BER_PKCS12_START = Buffer.from([0x30, 0x80, 0x02, 0x01, 0x03]);
const MAX_DER_OBJECTS = 100;

/** What a DER object is, by its outline, named as its PEM label would name it. Unknown shapes count as certificates (x509 then says why they do not parse). */
export function classifyDer(der: Buffer): string {
  if (der.subarray(0, 5).equals(BER_PKCS12_START)) return 'PKCS12';
  const parsed = parseObject(der);
  if (!parsed) return 'CERTIFICATE';
  const kids = parsed.node.children;
  const tags = kids.map((kid) => kid.tag);
  const small = (i: number): number | undefined => {
    const kid = kids[i];
    const bytes = kid?.tag === INTEGER ? kid.content : undefined;
    return bytes?.length === 1 ? bytes[0] : undefined;
  };
  const is = (...expected: number[]): boolean => expected.every((tag, i) => tags[i] === tag);

  if (is(SEQUENCE, SEQUENCE, BIT_STRING) && tags.length === 3) {
    // A signed structure: certificate, CRL or CSR, told apart by the to-be-signed part.
    const tbsTags = kids[0]!.children.map((kid) => kid.tag);
    if (tbsTags.slice(0, 4).some((t) => t === UTC_TIME || t === GENERALIZED_TIME)) return 'X509 CRL';
    if (tbsTags.length === 4 && tbsTags[0] === INTEGER && tbsTags[3] === CONTEXT_0) return 'CERTIFICATE REQUEST';
    return 'CERTIFICATE';
  }
  if (is(OID)) return oidOf(kids[0]!) === SIGNED_DATA_OID ? 'PKCS7' : 'CMS';
  if (is(INTEGER, SEQUENCE) && small(0) === 3 && tags.length <= 3) return 'PKCS12';
  if (is(INTEGER, SEQUENCE, OCTET_STRING)) return 'PRIVATE KEY';
  if (is(SEQUENCE, OCTET_STRING) && tags.length === 2) return 'ENCRYPTED PRIVATE KEY';
  if (small(0) === 1 && is(INTEGER, OCTET_STRING)) return 'EC PRIVATE KEY';
  if (small(0) === 0 && tags.length >= 9 && tags.every((t) => t === INTEGER)) return 'RSA PRIVATE KEY';
  if (small(0) === 0 && tags.length === 6 && tags.every((t) => t === INTEGER)) return 'DSA PRIVATE KEY';
  if (is(SEQUENCE, BIT_STRING) && tags.length === 2) return 'PUBLIC KEY';
  if (tags.length === 2 && tags.every((t) => t === INTEGER)) return 'RSA PUBLIC KEY';
  return 'CERTIFICATE';
}
