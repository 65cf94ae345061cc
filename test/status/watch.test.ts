import { describe, expect, it } from 'vitest';
import type { ListedCertificate } from '../../src/api/reader.ts';
import { assess } from '../../src/status/coverage.ts';
import { closestNames, editDistance, watchingNothing } from '../../src/status/watch.ts';

const NOW = new Date('2026-12-01T00:00:00Z');
const T = NOW.getTime() / 1000;
const DAY = 86_400;
const cert = (id: string, name: string | null, active: boolean): ListedCertificate => ({
  id,
  name,
  createdAt: T - DAY,
  validAt: T - DAY,
  expiresAt: T + 400 * DAY,
  active,
});
const settings = { renewWithinDays: 30, failWithinDays: 7, now: NOW };
const check = (organization: ListedCertificate[], projects: Array<[string, ListedCertificate[]]>, name: string | undefined) =>
  watchingNothing(organization, projects, assess(organization, projects, { ...settings, name }), name);

describe('editDistance and closestNames', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['corp-mtls-typo', 'corp-mtls-ca', 4],
    ['flaw', 'lawn', 2],
    ['same', 'same', 0],
  ])('editDistance(%j, %j) is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('gives the nearest names first, at most three, each once, ignoring case, ties alphabetically', () => {
    const names = ['zzzz', 'corp-mtls-ca', 'Corp-MTLS-CA-2027', 'corp-mtls-ca', null, 'other', 'corp-ca', ''];
    expect(closestNames('corp-mtls-typo', names)).toEqual(['corp-mtls-ca', 'Corp-MTLS-CA-2027', 'corp-ca']);
    expect(closestNames('b', ['c', 'a', 'bb'])).toEqual(['a', 'bb', 'c']);
    expect(closestNames('x', [])).toEqual([]);
  });
});

describe('watchingNothing', () => {
  it('is nothing when a watched certificate is active in a watched scope', () => {
    expect(check([cert('cert_a', 'corp-mtls-ca', true)], [], 'corp-mtls-ca')).toBeUndefined();
    const p = cert('cert_p', 'corp-mtls-ca', false);
    expect(check([p], [['proj_a', [{ ...p, active: true }]]], 'corp-mtls-ca')).toBeUndefined();
  });

  it('a name that matches no certificate: says what was looked for, where, and the closest names found', () => {
    const error = check(
      [cert('cert_a', 'corp-mtls-ca', true), cert('cert_b', 'other-ca', false), cert('cert_c', null, false)],
      [],
      'corp-mtls-typo',
    );
    expect(error?.title).toBe('input name');
    expect(error?.message).toBe(
      'No certificate named "corp-mtls-typo" in the organization, which holds 3 certificates; the closest names: "corp-mtls-ca", "other-ca". The status action would watch nothing and report no renewal due forever.',
    );
    expect(error?.hint).toMatch(/exact name .* case-sensitive/);
  });

  it('a name in an organization without certificates', () => {
    expect(check([], [], 'corp')?.message).toMatch(
      /^No certificate named "corp" in the organization, which holds 0 certificates, none of them named\./,
    );
  });

  it('watched certificates active in none of the watched scopes: names the scopes and the names active there', () => {
    const mine = cert('cert_m', 'corp-mtls-ca', false);
    const theirs = cert('cert_t', 'corp-mtls-ca2', false);
    const error = check([mine, theirs], [['proj_a', [mine, { ...theirs, active: true }]]], 'corp-mtls-ca');
    expect(error?.title).toBe('watching nothing');
    expect(error?.message).toBe(
      'No certificate named "corp-mtls-ca" is active in the watched scopes (the organization, project proj_a). The organization holds 1 named so (of 2 certificates), none of them active there; names active there: "corp-mtls-ca2". The status action would watch nothing and report no renewal due forever.',
    );
  });

  it('without a name, no certificate active anywhere watched fails too', () => {
    const error = check([cert('cert_a', 'x', false)], [['proj_a', []]], undefined);
    expect(error?.message).toMatch(
      /^No certificate is active in the watched scopes \(the organization, project proj_a\)\. The organization holds 1 certificate, none of them active there\./,
    );
  });
});
