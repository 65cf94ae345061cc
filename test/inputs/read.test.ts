import { afterEach, describe, expect, it } from 'vitest';
import { readBoolean, readCertificateName, readInput, readNumber, readProjectIds } from '../../src/inputs/read.js';
import { inputErrorOf, reader } from '../helpers/settings.ts';

const one = (value: string) => reader({ x: value });
const failure = inputErrorOf;

describe('readInput', () => {
  afterEach(() => {
    delete process.env['INPUT_SOME-INPUT'];
  });

  it('reads INPUT_<NAME> as the runner sets it, hyphens kept, trimmed', () => {
    process.env['INPUT_SOME-INPUT'] = '  value  ';
    expect(readInput('some-input')).toBe('value');
  });
});

describe('readBoolean', () => {
  it('accepts the YAML 1.2 core schema spellings, and an empty input means the default', () => {
    for (const value of ['true', 'True', 'TRUE']) expect(readBoolean(one(value), 'x', false)).toBe(true);
    for (const value of ['false', 'False', 'FALSE']) expect(readBoolean(one(value), 'x', true)).toBe(false);
    expect(readBoolean(one(''), 'x', true)).toBe(true);
    expect(readBoolean(one(''), 'x', false)).toBe(false);
  });

  it('refuses anything else, whole words only, naming the input', () => {
    for (const value of ['yes', 'no', '1', 'ttrue', 'truex', 'not true', 'ffalse', 'falsey', 'not false']) {
      const error = failure(() => readBoolean(one(value), 'x', false));
      expect(error.title).toBe('input x');
      expect(error.message).toBe(`x must be true or false, not "${value}".`);
    }
  });
});

describe('readNumber', () => {
  const limits = { min: 0, max: 10 };

  it('reads whole and decimal numbers within the bounds, both bounds included', () => {
    expect(readNumber(one('0'), 'x', 5, limits)).toBe(0);
    expect(readNumber(one('10'), 'x', 5, limits)).toBe(10);
    expect(readNumber(one('2.5'), 'x', 5, limits)).toBe(2.5);
    expect(readNumber(one('2.25'), 'x', 5, limits)).toBe(2.25);
    expect(readNumber(one(''), 'x', 5, limits)).toBe(5);
  });

  it('refuses what is not a plain decimal number, or out of bounds', () => {
    // Number() alone would take ' 1', '1 ' and '1. ' (white space around a number) and '1e1'.
    for (const value of ['-1', '11', '10.5', 'x1', '1x', '1.', '.5', '1.x', '1e1', '0x5', ' 1', '1 ', '1. ', '1.5 ']) {
      const error = failure(() => readNumber(one(value), 'x', 5, limits));
      expect(error.title).toBe('input x');
      expect(error.message).toBe(`x must be a number from 0 to 10, not "${value}".`);
    }
  });

  it('with integer, refuses fractions and says "a whole number"; without, accepts them', () => {
    const error = failure(() => readNumber(one('1.5'), 'x', 3, { ...limits, integer: true }));
    expect(error.message).toBe('x must be a whole number from 0 to 10, not "1.5".');
    expect(readNumber(one('1.5'), 'x', 3, { ...limits, integer: false })).toBe(1.5);
    expect(readNumber(one('4'), 'x', 3, { ...limits, integer: true })).toBe(4);
  });
});

describe('readProjectIds', () => {
  it('splits on commas, spaces and new lines, drops blanks and repeats, keeps the order', () => {
    expect(readProjectIds(one(' proj_a,, proj_b\n\n proj_c  proj_a ,'), 'x')).toEqual(['proj_a', 'proj_b', 'proj_c']);
    expect(readProjectIds(one(''), 'x')).toEqual([]);
  });

  it('refuses ids that are not proj_ and letters or digits, quoting each', () => {
    const error = failure(() => readProjectIds(one('proj_ok, xproj_a, proj_b-c, proj_, proj_Ab9'), 'x'));
    expect(error.title).toBe('input x');
    expect(error.message).toBe('Not project ids: "xproj_a", "proj_b-c", "proj_".');
  });
});

describe('readCertificateName', () => {
  it('one line of at most 200 characters; empty is no name', () => {
    expect(readCertificateName(reader({ name: 'a'.repeat(200) }))).toBe('a'.repeat(200));
    expect(readCertificateName(reader({}))).toBeUndefined();
    for (const name of ['a'.repeat(201), 'two\nlines', 'carriage\rreturn']) {
      expect(failure(() => readCertificateName(reader({ name }))).title).toBe('input name');
    }
  });
});
