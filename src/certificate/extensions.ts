/**
 * The four X.509 v3 extensions a CA is checked for (RFC 5280 §4.2.1), read from the certificate's DER
 * (der.ts). node:crypto has already parsed the certificate; it does not expose these.
 */
import {
  BIT_STRING,
  BOOLEAN,
  CONTEXT_0_PRIMITIVE,
  CONTEXT_3,
  INTEGER,
  OCTET_STRING,
  SEQUENCE,
  bitStringOf,
  oidOf,
  parseObject,
  smallIntegerOf,
  type Asn,
} from './der.js';

export interface CaExtensions {
  /** basicConstraints, absent when the extension is missing. */
  basicConstraints: { ca: boolean; pathLength?: number } | undefined;
  /** Hex of the Subject Key Identifier, absent when missing. */
  subjectKeyId: string | undefined;
  /** Authority Key Identifier: `keyId` is absent when only issuer and serial are given. */
  authorityKeyId: { keyId: string | undefined } | undefined;
  /** Key Usage bits by name (`keyCertSign`, `crlSign`, ...), absent when the extension is missing. */
  keyUsage: string[] | undefined;
}

const BASIC_CONSTRAINTS = '2.5.29.19';
const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const KEY_USAGE = '2.5.29.15';
/** KeyUsage bit names in bit order (RFC 5280 §4.2.1.3); `crlSign` is RFC 5280's cRLSign. */
const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'crlSign',
  'encipherOnly',
  'decipherOnly',
];

/** Reads the extensions; throws when the DER or one of these extensions is malformed. */
export function readCaExtensions(der: Uint8Array): CaExtensions {
  const values = extensionValues(der);
  const read = <T>(oid: string, parse: (node: Asn) => T): T | undefined => {
    const value = values.get(oid);
    if (value === undefined) return undefined;
    const parsed = parseObject(value);
    if (!parsed || parsed.length !== value.length) throw new Error(`extension ${oid} is not one DER value`);
    return parse(parsed.node);
  };
  return {
    basicConstraints: read(BASIC_CONSTRAINTS, basicConstraints),
    subjectKeyId: read(SUBJECT_KEY_IDENTIFIER, (node) => hex(expect(node, OCTET_STRING, 'subjectKeyIdentifier').content)),
    authorityKeyId: read(AUTHORITY_KEY_IDENTIFIER, authorityKeyId),
    keyUsage: read(KEY_USAGE, keyUsage),
  };
}

/** extnID → extnValue octets, from tbsCertificate's `[3] Extensions` (none for a v1 certificate). */
function extensionValues(der: Uint8Array): Map<string, Uint8Array> {
  const parsed = parseObject(der);
  const tbs = parsed?.node.children[0];
  if (!tbs || tbs.tag !== SEQUENCE) throw new Error('not an X.509 certificate');
  const values = new Map<string, Uint8Array>();
  const wrapper = tbs.children.find((node) => node.tag === CONTEXT_3);
  if (!wrapper) return values;
  const list = expect(wrapper.children[0], SEQUENCE, 'Extensions');
  for (const extension of list.children) {
    const parts = expect(extension, SEQUENCE, 'Extension').children;
    const oid = oidOf(parts[0]!);
    // extnID, then `critical` (a BOOLEAN) when present, then extnValue.
    if (oid === undefined || (parts.length === 3 ? parts[1]!.tag !== BOOLEAN : parts.length !== 2)) throw new Error('malformed Extension');
    values.set(oid, expect(parts.at(-1), OCTET_STRING, 'extnValue').content);
  }
  return values;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } */
function basicConstraints(node: Asn): CaExtensions['basicConstraints'] {
  const parts = expect(node, SEQUENCE, 'basicConstraints').children;
  let at = 0;
  let ca = false;
  if (parts[at]?.tag === BOOLEAN) ca = parts[at++]!.content[0] !== 0;
  const pathLen = parts[at] && expect(parts[at++], INTEGER, 'pathLenConstraint');
  if (at !== parts.length) throw new Error('malformed basicConstraints');
  if (!pathLen) return { ca };
  const pathLength = smallIntegerOf(pathLen);
  if (pathLength === undefined) throw new Error('malformed pathLenConstraint');
  return { ca, pathLength };
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... } */
function authorityKeyId(node: Asn): CaExtensions['authorityKeyId'] {
  const keyId = expect(node, SEQUENCE, 'authorityKeyIdentifier').children.find((part) => part.tag === CONTEXT_0_PRIMITIVE);
  return { keyId: keyId && hex(keyId.content) };
}

/** KeyUsage ::= BIT STRING, bit 0 first (the most significant bit of the first octet). */
function keyUsage(node: Asn): string[] {
  const bitString = bitStringOf(expect(node, BIT_STRING, 'keyUsage'));
  if (!bitString) throw new Error('malformed keyUsage');
  const { bits, unusedBits } = bitString;
  const count = bits.length * 8 - unusedBits;
  return KEY_USAGE_BITS.filter((_, bit) => bit < count && (bits[bit >> 3]! & (0x80 >> (bit & 7))) !== 0);
}

function expect(node: Asn | undefined, tag: number, what: string): Asn {
  if (!node || node.tag !== tag) throw new Error(`malformed ${what}`);
  return node;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}
