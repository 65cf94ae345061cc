import { describe, expect, it } from 'vitest';
import { certificateLabel, duration, scopeLabel } from '../src/wording.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('wording', () => {
  it('names a scope', () => {
    expect(scopeLabel('organization')).toBe('the organization');
    expect(scopeLabel('proj_x')).toBe('project proj_x');
  });

  it('names a certificate by id and name, or by id alone', () => {
    expect(certificateLabel({ id: 'cert_x', name: 'corp-ca' })).toBe('cert_x ("corp-ca")');
    expect(certificateLabel({ id: 'cert_x', name: null })).toBe('cert_x');
    expect(certificateLabel({ id: 'cert_x' })).toBe('cert_x');
    expect(certificateLabel({ id: 'cert_x', name: '' })).toBe('cert_x');
  });

  it.each([
    [0, 'less than a minute'],
    [59_999, 'less than a minute'],
    [MINUTE, '1 minute'],
    [2 * MINUTE - 1, '1 minute'],
    [2 * MINUTE, '2 minutes'],
    [59 * MINUTE + 59_999, '59 minutes'],
    [HOUR, '1 hour'],
    [2 * HOUR + 30 * MINUTE, '2 hours'],
    [DAY - 1, '23 hours'],
    [DAY, '1 day'],
    [2 * DAY - 1, '1 day'],
    [400 * DAY, '400 days'],
    [-90 * MINUTE, '1 hour'],
    [-3 * DAY, '3 days'],
  ])('duration(%d ms) is "%s": minutes under an hour, hours under a day, then days, rounded down', (ms, words) => {
    expect(duration(ms)).toBe(words);
  });
});
