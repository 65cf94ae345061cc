/**
 * A reader for the outline of BER/DER (ITU-T X.690): identifier, length and content of each object, and
 * the children of a constructed one. Nothing else is interpreted here; the few values the action reads
 * (OBJECT IDENTIFIER, small INTEGER, BIT STRING) have their own functions below.
 *
 * Why our own and not asn1js: asn1js read the same outline, but loading it and its first parse were about
 * 4.5% of the start-up of a whole run (40 million of 890 million instructions, counted with callgrind), a
 * large share of the action's budget against the floor of its stack (README, Performance). What is used
 * here is small: lengths in short and long form, the indefinite length of BER for constructed objects,
 * high tag numbers. test/certificate/der.test.ts checks it against asn1js (kept as a devDependency) on
 * real certificates, on random well-formed trees and on random corruptions of both.
 *
 * Input is hostile: every length is checked against the bytes there are, nesting is bounded, nothing
 * throws. Where X.690 is strict and asn1js is not, der.ts is strict: an end-of-contents is not an object,
 * 0xff is no length, a constructed object holds whole objects and nothing else.
 */

export interface Asn {
  /** The identifier octet as DER writes it (0x30 SEQUENCE, 0xa3 [3] constructed...); above 0xff for high tag numbers. */
  tag: number;
  constructed: boolean;
  /** The content octets (for a constructed object, its children's encodings; for BER's indefinite length, without the end-of-contents). */
  content: Uint8Array;
  /** The children of a constructed object, in order; empty for a primitive one. */
  children: Asn[];
}

export const SEQUENCE = 0x30;
export const BOOLEAN = 0x01;
export const INTEGER = 0x02;
export const BIT_STRING = 0x03;
export const OCTET_STRING = 0x04;
export const OID = 0x06;
export const UTC_TIME = 0x17;
export const GENERALIZED_TIME = 0x18;
/** Context-specific tags: [0] constructed (explicit), [0] primitive (implicit), [3] constructed. */
export const CONTEXT_0 = 0xa0;
export const CONTEXT_0_PRIMITIVE = 0x80;
export const CONTEXT_3 = 0xa3;

/** Deeper than any certificate, key or PKCS#12 file; a hostile input cannot exhaust the stack. */
const MAX_DEPTH = 64;

/** The first BER object in `bytes` and how many bytes it spans, or undefined when the bytes do not start with one. */
export function parseObject(bytes: Uint8Array): { node: Asn; length: number } | undefined {
  const read = readObject(bytes, 0, bytes.length, 0);
  return read && { node: read.node, length: read.end };
}

/** One object from `at`, within `limit`: the node and the offset after it. */
function readObject(bytes: Uint8Array, at: number, limit: number, depth: number): { node: Asn; end: number } | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const id = readIdentifier(bytes, at, limit);
  const header = id && readLength(bytes, id.end, limit);
  if (!header) return undefined;
  const indefinite = header.length === INDEFINITE;
  // BER's indefinite length is for constructed objects only: their children run to the end-of-contents
  // octets, 00 00. A definite length ends the content where it says.
  if (indefinite && !id.constructed) return undefined;
  const bound = indefinite ? limit : header.end + header.length;
  const endOfContents = (offset: number): boolean => offset + 1 < limit && bytes[offset] === 0 && bytes[offset + 1] === 0;
  const children: Asn[] = [];
  let offset = header.end;
  while (id.constructed && (indefinite ? !endOfContents(offset) : offset < bound)) {
    const child = readObject(bytes, offset, bound, depth + 1);
    if (!child) return undefined;
    children.push(child.node);
    offset = child.end;
  }
  const content = bytes.subarray(header.end, indefinite ? offset : bound);
  return { node: { tag: id.tag, constructed: id.constructed, content, children }, end: indefinite ? offset + 2 : bound };
}

/** The identifier octets from `at`: the tag (see `Asn.tag`), the form, and the offset after them. */
function readIdentifier(bytes: Uint8Array, at: number, limit: number): { tag: number; constructed: boolean; end: number } | undefined {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: dropping or loosening this guard is equivalent (an empty range is refused again at the length octet; it only spares reading past it).
  if (at >= limit) return undefined;
  const first = bytes[at++]!;
  // Universal tag 0 is end-of-contents, which only ends an indefinite length; it is no object.
  if ((first & 0xdf) === 0) return undefined;
  const constructed = (first & 0x20) !== 0;
  if ((first & 0x1f) !== 0x1f) return { tag: first, constructed, end: at };
  // High tag number: base 128, most significant group first, at most four octets (tag numbers up to 2^28).
  let number = 0;
  for (let octets = 0; ; octets++) {
    if (octets === 4) return undefined;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: dropping or loosening this guard is equivalent (a tag that runs to the limit is refused at the length octet).
    if (at >= limit) return undefined;
    const octet = bytes[at++]!;
    number = number * 128 + (octet & 0x7f);
    if ((octet & 0x80) === 0) return { tag: number * 0x100 + (first & 0xe0), constructed, end: at };
  }
}

const INDEFINITE = -1;

/** The length octets from `at`: the length (INDEFINITE for BER's 0x80), checked against the bytes there are, and the offset after them. */
function readLength(bytes: Uint8Array, at: number, limit: number): { length: number; end: number } | undefined {
  if (at >= limit) return undefined;
  const octet = bytes[at++]!;
  if (octet === 0x80) return { length: INDEFINITE, end: at };
  let length = octet;
  // Stryker disable next-line EqualityOperator: `>= 0x80` is equivalent (0x80, the indefinite length, was handled above).
  if (octet > 0x80) {
    // Long form: the count of length octets, then the length, most significant first (0xff is reserved).
    const count = octet & 0x7f;
    if (octet === 0xff || count > limit - at) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[at++]!;
  }
  return length > limit - at ? undefined : { length, end: at };
}

/** The dotted form of an OBJECT IDENTIFIER node; undefined when its content is not a valid one. */
export function oidOf(node: Asn): string | undefined {
  const bytes = node.content;
  if (node.tag !== OID || bytes.length === 0 || (bytes.at(-1)! & 0x80) !== 0) return undefined;
  const arcs: bigint[] = [];
  let value = 0n;
  for (const octet of bytes) {
    value = (value << 7n) | BigInt(octet & 0x7f);
    if ((octet & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  // The first subidentifier holds the first two arcs: 40 × first + second, the first being 0, 1 or 2.
  const head = arcs.shift()!;
  const first = head < 40n ? 0n : head < 80n ? 1n : 2n;
  return [first, head - first * 40n, ...arcs].join('.');
}

/** A non-negative INTEGER that fits a safe integer; undefined for a negative, empty or huge one. */
export function smallIntegerOf(node: Asn): number | undefined {
  const bytes = node.content;
  if (node.tag !== INTEGER || bytes.length === 0 || bytes.length > 6 || (bytes[0]! & 0x80) !== 0) return undefined;
  return bytes.reduce((value, octet) => value * 256 + octet, 0);
}

/** A BIT STRING's bits: the octets after its first, and how many bits of the last are unused (0 to 7). */
export function bitStringOf(node: Asn): { bits: Uint8Array; unusedBits: number } | undefined {
  if (node.tag !== BIT_STRING || node.content.length === 0) return undefined;
  const unusedBits = node.content[0]!;
  if (unusedBits > 7 || (node.content.length === 1 && unusedBits !== 0)) return undefined;
  return { bits: node.content.subarray(1), unusedBits };
}
