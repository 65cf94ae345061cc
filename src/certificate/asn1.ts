/**
 * Small helpers over asn1js (a maintained BER/DER parser) for reading the outline of a structure:
 * the identifier byte of a node, its children, and the first object in a byte string.
 */
import * as asn1js from 'asn1js';

export type Asn = asn1js.AsnType;

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

/** The identifier byte of a node, as DER writes it: 0x30 SEQUENCE, 0x02 INTEGER, 0xa0 [0] constructed... */
export function tagOf(node: Asn): number {
  const id = node.idBlock;
  return ((id.tagClass - 1) << 6) | (id.isConstructed ? 0x20 : 0) | id.tagNumber;
}

export function childrenOf(node: Asn): Asn[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  return node.idBlock.isConstructed && Array.isArray(value) ? (value as Asn[]) : [];
}

/** The first BER object in `bytes` and how many bytes it spans, or undefined when the bytes are not one. */
export function parseObject(bytes: Uint8Array): { node: Asn; length: number } | undefined {
  const { offset, result } = asn1js.fromBER(bytes);
  return offset > 0 && !result.error ? { node: result, length: offset } : undefined;
}

/** The content bytes of a primitive node (an OCTET STRING's octets, an INTEGER's two's complement...). */
export function bytesOf(node: Asn): Uint8Array {
  return (node.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView;
}

/** The dotted form of an OBJECT IDENTIFIER node. */
export function oidOf(node: Asn): string {
  return (node as asn1js.ObjectIdentifier).valueBlock.toString();
}
