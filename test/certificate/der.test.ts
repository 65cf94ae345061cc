/**
 * src/certificate/der.ts against two oracles: the tree a test encoded itself, and asn1js (a maintained
 * BER/DER parser, which the action used before der.ts). Inputs: real structures made by openssl (a CA
 * certificate, a CSR, a CRL, PKCS#7, PKCS#12, private keys), random well-formed trees in every length form
 * BER allows, and random corruptions of both.
 */
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { bitStringOf, oidOf, parseObject, smallIntegerOf, type Asn } from '../../src/certificate/der.ts';
import { makeCa } from '../helpers/certs.ts';
import { derPrivateKeys, notCertificates, pkcs12Of } from './fixtures.ts';

/** What both readers must agree on, for one object: tag class and number, form, content, children. */
interface Outline {
  tag: string;
  constructed: boolean;
  content: string;
  children: Outline[];
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function ours(bytes: Uint8Array): { outline: Outline; length: number } | undefined {
  const outline = (node: Asn): Outline => {
    // der.ts: the identifier octet for tag numbers under 31, number × 256 + class and form bits above.
    if (((node.tag & 0x20) !== 0) !== node.constructed) throw new Error(`tag ${node.tag} and form disagree`);
    return {
      tag: `${((node.tag & 0xc0) >> 6) + 1}:${node.tag > 0xff ? Math.floor(node.tag / 256) : node.tag & 0x1f}`,
      constructed: node.constructed,
      content: hex(node.content),
      children: node.children.map(outline),
    };
  };
  const parsed = parseObject(bytes);
  return parsed && { outline: outline(parsed.node), length: parsed.length };
}

/**
 * asn1js's reading; `undefined` when it reports an error or throws, or when its reading does not add up.
 * asn1js is lenient in three ways der.ts (rightly, X.690 8.1) is not: it reads an end-of-contents (tag 0)
 * as an object, wherever it is and whatever length follows, it accepts a constructed string type whose
 * content is not a series of objects, and an indefinite length whose end-of-contents is missing at the
 * end of the input.
 * Those readings are not compared, nor tag numbers past der.ts's bound (four octets, 2^28), which asn1js
 * reads further.
 */
function theirs(bytes: Uint8Array): { outline: Outline; length: number } | undefined {
  const outline = (node: asn1js.AsnType): Outline => {
    const whole = node.valueBeforeDecodeView;
    const header = node.idBlock.blockLength + node.lenBlock.blockLength;
    const indefinite = node.lenBlock.isIndefiniteForm;
    if (!indefinite && whole.length !== header + node.lenBlock.length) throw new Error('asn1js: the lengths do not add up');
    if (node.idBlock.tagNumber >= 2 ** 28) throw new Error("past der.ts's bound on tag numbers");
    if (node.idBlock.tagClass === 1 && node.idBlock.tagNumber === 0) throw new Error('asn1js: an end-of-contents read as an object');
    if (indefinite && (whole.length < header + 2 || whole.at(-1) !== 0 || whole.at(-2) !== 0))
      throw new Error('asn1js: no end-of-contents');
    const value = (node.valueBlock as { value?: unknown }).value;
    const children = node.idBlock.isConstructed && Array.isArray(value) ? (value as asn1js.AsnType[]) : [];
    const content = whole.subarray(header, whole.length - (indefinite ? 2 : 0));
    if (node.idBlock.isConstructed && children.reduce((sum, child) => sum + child.valueBeforeDecodeView.length, 0) !== content.length)
      throw new Error('asn1js: the children do not fill the content');
    return {
      tag: `${node.idBlock.tagClass}:${node.idBlock.tagNumber}`,
      constructed: node.idBlock.isConstructed,
      content: hex(content),
      children: children.map(outline),
    };
  };
  try {
    const { offset, result } = asn1js.fromBER(bytes);
    return offset === -1 || result.error ? undefined : { outline: outline(result), length: offset };
  } catch {
    return undefined;
  }
}

// ----- random well-formed trees -------------------------------------------------------------------

type LengthForm = 'short' | 'long' | 'padded' | 'indefinite';
interface Tree {
  /** Class (0 universal ... 3 private), form and number, as X.690 splits the identifier. */
  cls: number;
  constructed: boolean;
  number: number;
  form: LengthForm;
  content: Uint8Array;
  children: Tree[];
}

function identifier(tree: Tree): number[] {
  const first = (tree.cls << 6) | (tree.constructed ? 0x20 : 0);
  if (tree.number < 31) return [first | tree.number];
  const groups: number[] = [];
  for (let n = tree.number; n > 0; n = Math.floor(n / 128)) groups.unshift(n % 128);
  return [first | 0x1f, ...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g))];
}

function lengthOctets(length: number, form: LengthForm): number[] {
  if (form === 'indefinite') return [0x80];
  if (form === 'short' && length < 128) return [length];
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  if (form === 'padded' || octets.length === 0) octets.unshift(0);
  return [0x80 | octets.length, ...octets];
}

function encode(tree: Tree): Uint8Array {
  const content = tree.constructed ? Buffer.concat(tree.children.map(encode)) : Buffer.from(tree.content);
  const eoc = tree.form === 'indefinite' ? [0, 0] : [];
  return Buffer.concat([Buffer.from(identifier(tree)), Buffer.from(lengthOctets(content.length, tree.form)), content, Buffer.from(eoc)]);
}

/** The outline a tree must be read back as. */
function outlineOf(tree: Tree): Outline {
  const content = tree.constructed ? Buffer.concat(tree.children.map(encode)) : tree.content;
  return {
    tag: `${tree.cls + 1}:${tree.number}`,
    constructed: tree.constructed,
    content: hex(content),
    children: tree.children.map(outlineOf),
  };
}

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const definite = fc.constantFrom<LengthForm>('short', 'long', 'padded');
const leaf = (cls: number, number: number, content: fc.Arbitrary<Uint8Array>) =>
  fc
    .record({ form: definite, content })
    .map(({ form, content }): Tree => ({ cls, constructed: false, number, form, content, children: [] }));
/** A valid OBJECT IDENTIFIER: its subidentifiers (the first holds two arcs) and their content octets, base 128. */
const oids = fc.array(fc.bigInt({ min: 0n, max: 2n ** 70n }), { minLength: 1, maxLength: 6 }).map((ids) => ({
  ids,
  content: Uint8Array.from(
    ids.flatMap((id) => {
      const groups: number[] = [];
      for (let n = id; groups.length === 0 || n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn));
      return groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g));
    }),
  ),
}));
const oidContent = oids.map(({ content }) => content);
const leaves: fc.Arbitrary<Tree> = fc.oneof(
  // Types asn1js does not interpret: context-specific, application and private, low and high tag numbers.
  fc
    .record({
      cls: fc.integer({ min: 1, max: 3 }),
      number: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 31, max: 2 ** 21 })),
    })
    .chain(({ cls, number }) => leaf(cls, number, bytes(0, 300))),
  // Universal types, with content asn1js accepts for each.
  leaf(0, 2, bytes(1, 9)), // INTEGER
  leaf(0, 4, bytes(0, 40)), // OCTET STRING
  leaf(0, 1, bytes(1, 1)), // BOOLEAN
  leaf(0, 5, bytes(0, 0)), // NULL
  leaf(0, 6, oidContent), // OBJECT IDENTIFIER
  fc.tuple(fc.integer({ min: 0, max: 7 }), bytes(1, 20)).chain(([unused, bits]) => leaf(0, 3, fc.constant(Uint8Array.of(unused, ...bits)))), // BIT STRING
);
const { tree } = fc.letrec<{ tree: Tree; node: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaves, tie('node')),
  node: fc
    .record({
      cls: fc.integer({ min: 0, max: 3 }),
      number: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 31, max: 4000 })),
      form: fc.constantFrom<LengthForm>('short', 'long', 'padded', 'indefinite'),
      children: fc.array(tie('tree'), { maxLength: 4 }),
    })
    // Universal constructed objects are SEQUENCE and SET (asn1js reads other universal numbers as their types).
    .map(({ cls, number, form, children }): Tree => ({
      cls,
      constructed: true,
      number: cls === 0 ? 16 + (number % 2) : number,
      form,
      content: new Uint8Array(),
      children,
    })),
}));

// ----- corruptions --------------------------------------------------------------------------------

type Edit = { kind: 'set'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; value: number };
const edits = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x80, 0x81, 0xff, 0x30, 0x1f) }),
  ),
  { minLength: 1, maxLength: 4 },
);
function corrupt(input: Uint8Array, changes: Edit[]): Uint8Array {
  let out = Buffer.from(input);
  for (const change of changes) {
    const at = change.at % Math.max(out.length, 1);
    if (change.kind === 'set' && out.length > 0) out[at] = change.value;
    if (change.kind === 'cut') out = out.subarray(0, at);
    if (change.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.of(change.value), out.subarray(at)]);
  }
  return out;
}

// ----- the tests ----------------------------------------------------------------------------------

let real: Record<string, Uint8Array>;
beforeAll(() => {
  const ca = makeCa({ cn: 'DER CA', basicConstraints: 'critical,CA:TRUE,pathlen:2' });
  real = {
    'CA certificate': ca.der,
    'PKCS#12 (openssl pkcs12 -export)': pkcs12Of(ca),
    ...Object.fromEntries(Object.entries(notCertificates(ca)).map(([name, made]) => [name, made.der])),
    ...derPrivateKeys(),
  };
});

describe('parseObject', () => {
  it('reads every real structure as asn1js does, to the last byte', () => {
    expect(Object.keys(real)).toHaveLength(10);
    for (const [name, der] of Object.entries(real)) {
      const read = ours(der);
      expect(read, name).toBeDefined();
      expect(read, name).toEqual(theirs(der));
      expect(read!.length, name).toBe(der.length);
    }
  });

  it('reads random well-formed trees back as they were written, in every length form, as asn1js does', () => {
    fc.assert(
      fc.property(tree, (written) => {
        const encoded = encode(written);
        const read = ours(encoded);
        expect(read).toEqual({ outline: outlineOf(written), length: encoded.length });
        expect(read).toEqual(theirs(encoded));
        // Bytes after the object are not part of it.
        expect(ours(Buffer.concat([encoded, Buffer.of(0x30, 0x00)]))?.length).toBe(encoded.length);
      }),
      { numRuns: 500 },
    );
  });

  it('on corrupted input never throws, and reads whatever asn1js reads exactly as asn1js does', () => {
    const inputs = fc.oneof(fc.constantFrom(...Object.values(real)), tree.map(encode));
    let agreed = 0;
    fc.assert(
      fc.property(inputs, edits, (input, changes) => {
        const damaged = corrupt(input, changes);
        const read = ours(damaged);
        if (read) expect(read.length).toBeLessThanOrEqual(damaged.length);
        const expected = theirs(damaged);
        if (expected) {
          expect(read).toEqual(expected);
          agreed++;
        }
      }),
      { numRuns: 1000 },
    );
    // Enough of the corruptions were still readable for the comparison to mean something.
    expect(agreed).toBeGreaterThan(100);
  });

  it('refuses what is not one whole object: nothing, a length past the end, a cut header, a primitive of indefinite length', () => {
    for (const input of [
      [],
      [0x30],
      [0x30, 0x03, 0x02, 0x01],
      [0x30, 0x84, 0x00],
      [0x04, 0x80, 0x00, 0x00],
      [0x30, 0xff],
      [0x3f],
      [0x3f, 0x81],
    ])
      expect(parseObject(Uint8Array.from(input)), hex(Uint8Array.from(input))).toBeUndefined();
    // A constructed object whose children overrun it, and one of indefinite length with no end-of-contents.
    expect(parseObject(Uint8Array.of(0x30, 0x02, 0x04, 0x02, 0x00, 0x00))).toBeUndefined();
    expect(parseObject(Uint8Array.of(0x30, 0x80, 0x05, 0x00))).toBeUndefined();
    // An end-of-contents anywhere but at the end of an indefinite length, with or without a length.
    for (const input of [
      [0x00, 0x00],
      [0x20, 0x00],
      [0x30, 0x02, 0x00, 0x00],
      [0x30, 0x80, 0x00, 0x01, 0x05, 0x00, 0x00],
    ])
      expect(parseObject(Uint8Array.from(input)), hex(Uint8Array.from(input))).toBeUndefined();
    // 0xff is reserved (X.690 8.1.3.5), even when the 127 octets after it would make a length.
    expect(parseObject(Uint8Array.of(0x30, 0xff, ...new Array<number>(127).fill(0)))).toBeUndefined();
    expect(parseObject(Uint8Array.of(0x30, 0xfe, ...new Array<number>(126).fill(0)))?.length).toBe(128);
    // An end-of-contents that would straddle the end of the enclosing object.
    expect(parseObject(Uint8Array.of(0x30, 0x03, 0x30, 0x80, 0x00, 0x00))).toBeUndefined();
    // Tag numbers of up to four octets (below 2^28); a fifth is refused.
    expect(parseObject(Uint8Array.of(0x9f, 0xff, 0xff, 0xff, 0x7f, 0x00))?.node.tag).toBe((2 ** 28 - 1) * 256 + 0x80);
    expect(parseObject(Uint8Array.of(0x9f, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00))).toBeUndefined();
  });

  it('bounds nesting: 64 levels below the top are read, deeper is refused without exhausting the stack', () => {
    const nested = (levels: number, indefinite: boolean): Uint8Array => {
      if (indefinite) return Buffer.concat([Buffer.from('3080'.repeat(levels), 'hex'), Buffer.of(0x05, 0x00), Buffer.alloc(2 * levels)]);
      let inner: Uint8Array = Buffer.of(0x05, 0x00);
      for (let i = 0; i < levels; i++) inner = Buffer.concat([Buffer.of(0x30, ...lengthOctets(inner.length, 'long')), inner]);
      return inner;
    };
    for (const indefinite of [false, true]) {
      expect(parseObject(nested(64, indefinite))).toBeDefined();
      expect(parseObject(nested(65, indefinite))).toBeUndefined();
      expect(parseObject(nested(indefinite ? 100_000 : 1_000, indefinite))).toBeUndefined();
    }
  });
});

describe('values', () => {
  const node = (tag: number, content: number[]): Asn => ({ tag, constructed: false, content: Uint8Array.from(content), children: [] });

  it('oidOf gives the dotted form asn1js gives, and stays exact for arcs past 2^53, where asn1js does not', () => {
    fc.assert(
      fc.property(oids, ({ ids, content }) => {
        const encoded = Uint8Array.of(0x06, content.length, ...content);
        const dotted = oidOf(parseObject(encoded)!.node)!;
        // X.690 8.19.4: the first subidentifier is 40 × the first arc + the second, the first arc being 0, 1 or 2.
        const [head, ...rest] = ids;
        const first = head! < 80n ? head! / 40n : 2n;
        expect(dotted).toBe([first, head! - first * 40n, ...rest].join('.'));
        if (ids.every((id) => id < 2n ** 53n))
          expect(dotted).toBe((asn1js.fromBER(encoded).result as asn1js.ObjectIdentifier).valueBlock.toString());
      }),
      { numRuns: 300 },
    );
    expect(oidOf(node(0x06, [0x55, 0x1d, 0x13]))).toBe('2.5.29.19');
    // Where the first arc changes.
    expect([39, 40, 79, 80].map((head) => oidOf(node(0x06, [head, 0x01])))).toEqual(['0.39.1', '1.0.1', '1.39.1', '2.0.1']);
    expect(oidOf(node(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]))).toBe('1.2.840.113549.1.7.2');
  });

  it('oidOf refuses an empty identifier, one cut inside a subidentifier, and another type', () => {
    expect(oidOf(node(0x06, []))).toBeUndefined();
    expect(oidOf(node(0x06, [0x55, 0x9d]))).toBeUndefined();
    expect(oidOf(node(0x04, [0x55, 0x1d, 0x13]))).toBeUndefined();
  });

  it('smallIntegerOf reads non-negative integers up to six octets and nothing else', () => {
    expect(smallIntegerOf(node(0x02, [0x00]))).toBe(0);
    expect(smallIntegerOf(node(0x02, [0x03]))).toBe(3);
    expect(smallIntegerOf(node(0x02, [0x00, 0xff]))).toBe(255);
    expect(smallIntegerOf(node(0x02, [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(2 ** 47 - 1);
    for (const refused of [[], [0xff], [0x80, 0x00], [0x01, 0, 0, 0, 0, 0, 0]]) expect(smallIntegerOf(node(0x02, refused))).toBeUndefined();
    expect(smallIntegerOf(node(0x04, [0x03]))).toBeUndefined();
  });

  it('bitStringOf splits the unused-bits octet from the bits, and refuses a count over 7 or unused bits of nothing', () => {
    expect(bitStringOf(node(0x03, [0x01, 0x86]))).toEqual({ bits: Uint8Array.of(0x86), unusedBits: 1 });
    expect(bitStringOf(node(0x03, [0x00]))).toEqual({ bits: Uint8Array.of(), unusedBits: 0 });
    for (const refused of [[], [0x08, 0xff], [0x01]]) expect(bitStringOf(node(0x03, refused))).toBeUndefined();
    expect(bitStringOf(node(0x04, [0x00]))).toBeUndefined();
  });
});
