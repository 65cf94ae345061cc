/**
 * Turns whatever a user put in a secret or a file into PEM blocks: PEM with CRLF endings, a byte-order
 * mark, blank lines or text around it (as `openssl x509 -text` or a PKCS#12 export prints it), base64
 * of a whole PEM, bare base64 of DER, or a DER file. Pure: nothing is logged here.
 */

export type InputEncoding = 'pem' | 'base64-pem' | 'der' | 'base64-der' | 'unknown';

export interface PemBlock {
  /** The label between `BEGIN` and the dashes, e.g. `CERTIFICATE`, `EC PRIVATE KEY`. */
  label: string;
  /** The DER bytes (base64 body decoded; PEM headers such as `Proc-Type` are skipped). */
  der: Buffer;
  /** The block as it stood in the input, armour included. */
  text: string;
}

export interface DecodedInput {
  encoding: InputEncoding;
  blocks: PemBlock[];
  /**
   * Texts that must be masked because they hold private-key material: each key block, and the raw
   * input as well when it was a base64 wrapper around a PEM that contains a key.
   */
  keyMaterial: string[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 #]+)-----\r?\n?([\s\S]*?)-----END \1-----/g;
const PRIVATE_KEY_LABEL = /PRIVATE KEY/;

export function decodeInput(input: Uint8Array | string): DecodedInput {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  if (looksLikeDer(bytes)) return { encoding: 'der', blocks: [derBlock(bytes)], keyMaterial: [] };

  const text = normaliseText(bytes.toString('utf8'));
  if (text.includes('-----BEGIN ')) return fromPem(text, 'pem');

  const unwrapped = unwrapBase64(text);
  if (unwrapped) {
    if (looksLikeDer(unwrapped)) return { encoding: 'base64-der', blocks: [derBlock(unwrapped)], keyMaterial: [] };
    const inner = normaliseText(unwrapped.toString('utf8'));
    if (inner.includes('-----BEGIN ')) {
      const decoded = fromPem(inner, 'base64-pem');
      // The base64 text itself encodes the key: mask it too.
      if (decoded.keyMaterial.length > 0) decoded.keyMaterial.push(text.trim());
      return decoded;
    }
  }
  return { encoding: 'unknown', blocks: [], keyMaterial: [] };
}

/** Encodes DER as one clean PEM block: LF endings, 64-column base64, trailing newline. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function isPrivateKeyLabel(label: string): boolean {
  return PRIVATE_KEY_LABEL.test(label);
}

function fromPem(text: string, encoding: InputEncoding): DecodedInput {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    blocks.push({ label: match[1] ?? '', der: decodeBody(match[2] ?? ''), text: match[0] });
  }
  // Key material runs from a private-key BEGIN line to its END line or, when that is missing or
  // mangled, to the end of the input: none of it may ever be echoed.
  const keyMaterial: string[] = [];
  for (const begin of text.matchAll(/-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----/g)) {
    const endLine = `-----END ${begin[1]}-----`;
    const endAt = text.indexOf(endLine, begin.index);
    const keyText = text.slice(begin.index, endAt < 0 ? text.length : endAt + endLine.length);
    keyMaterial.push(keyText);
    if (endAt < 0) blocks.push({ label: begin[1] ?? 'PRIVATE KEY', der: Buffer.alloc(0), text: keyText });
  }
  return { encoding, blocks, keyMaterial };
}

/** The base64 body of a block, without RFC 1421 headers (`Proc-Type: ...`, `DEK-Info: ...`). */
function decodeBody(body: string): Buffer {
  const lines = body.split('\n').filter((line) => !/^[A-Za-z-]+:/.test(line.trim()));
  return Buffer.from(lines.join('').replace(/\s+/g, ''), 'base64');
}

function normaliseText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** A DER certificate starts with a SEQUENCE whose length takes more than one byte: 0x30 0x81..0x84. */
function looksLikeDer(bytes: Buffer): boolean {
  return bytes.length > 4 && bytes[0] === 0x30 && (bytes[1] ?? 0) >= 0x81 && (bytes[1] ?? 0) <= 0x84;
}

function unwrapBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const decoded = Buffer.from(compact, 'base64');
  return decoded.length > 0 ? decoded : undefined;
}

function derBlock(der: Buffer): PemBlock {
  return { label: 'CERTIFICATE', der, text: toPem(der) };
}
