import { describe, expect, it } from 'vitest';
import type { ListedCertificate } from '../../src/api/reader.ts';
import { assess, type AssessOptions } from '../../src/status/coverage.ts';

const NOW = new Date('2026-12-01T00:00:00Z');
const T = NOW.getTime() / 1000;
const DAY = 86_400;
let n = 0;
/** A listed certificate expiring `days` days from NOW (undefined: the list gives no expiry). */
function listed(days: number | undefined, extra: Partial<ListedCertificate> = {}): ListedCertificate {
  n++;
  return {
    id: `cert_${n}`,
    name: 'corp',
    createdAt: T - 1000 + n,
    validAt: T - 400 * DAY,
    expiresAt: days === undefined ? null : T + days * DAY,
    active: false,
    ...extra,
  };
}
const options = (extra: Partial<AssessOptions> = {}): AssessOptions => ({
  name: undefined,
  renewWithinDays: 30,
  failWithinDays: 7,
  now: NOW,
  ...extra,
});
/** The same certificate as a project's list shows it, active there or not. */
const inProject = (c: ListedCertificate, active: boolean): ListedCertificate => ({ ...c, active });

describe('assess', () => {
  it('a scope is covered until the latest expiry among its active watched certificates (mid-rotation)', () => {
    const old = listed(10, { active: true });
    const next = listed(400, { active: true });
    const a = assess([old, next], [], options());
    expect(a.scopes).toEqual([
      expect.objectContaining({ scope: 'organization', state: 'ok', coveredBy: expect.objectContaining({ id: next.id }) }),
    ]);
    expect(a.shortest?.coveredBy?.id).toBe(next.id);
    expect(a).toMatchObject({ renewalDue: false, failing: false, count: 2 });
  });

  it('inactive certificates do not cover, however long they last', () => {
    const a = assess([listed(10, { active: true }), listed(900)], [], options());
    expect(a.scopes[0]).toMatchObject({ state: 'due' });
    expect(a.renewalDue).toBe(true);
  });

  it.each([
    [31, 'ok'],
    [30.5, 'ok'],
    [30, 'due'],
    [29.9, 'due'],
    [7.001, 'due'],
    [7, 'failing'],
    [1, 'failing'],
    [0, 'failing'],
    [-5, 'failing'],
  ] as const)('with renew 30 and fail 7, a coverage ending in %s days is %s (both bounds inclusive)', (days, state) => {
    const a = assess([listed(days, { active: true })], [], options());
    expect(a.scopes[0]?.state).toBe(state);
    expect(a.renewalDue).toBe(state !== 'ok');
    expect(a.failing).toBe(state === 'failing');
  });

  it('with both windows at 0, only a coverage that has ended fails', () => {
    expect(assess([listed(0.01, { active: true })], [], options({ renewWithinDays: 0, failWithinDays: 0 })).scopes[0]?.state).toBe('ok');
    expect(assess([listed(0, { active: true })], [], options({ renewWithinDays: 0, failWithinDays: 0 })).scopes[0]?.state).toBe('failing');
  });

  it('a scope with no active watched certificate is listed, neither due nor failing', () => {
    const a = assess([listed(1)], [['proj_a', []]], options());
    expect(a.scopes.map((s) => [s.scope, s.state, s.coveredBy])).toEqual([
      ['organization', 'none', undefined],
      ['proj_a', 'none', undefined],
    ]);
    expect(a).toMatchObject({ renewalDue: false, failing: false, shortest: undefined });
  });

  it('active certificates with no expiry in the list: the scope is unknown, neither due nor failing', () => {
    const a = assess([listed(undefined, { active: true })], [], options());
    expect(a.scopes[0]).toMatchObject({ state: 'unknown', coveredBy: undefined });
    expect(a).toMatchObject({ renewalDue: false, failing: false, unverified: true, shortest: undefined });
    // Beside one with an expiry, that one gives the coverage.
    const b = assess([listed(undefined, { active: true }), listed(3, { active: true })], [], options());
    expect(b.scopes[0]).toMatchObject({ state: 'failing' });
  });

  // The API may list null (or, through a proxy, anything) where a date should be: unknown, never 0 (1970).
  it.each([
    ['null', null],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '1797854400'],
  ])('an expiry of %s is unknown: no date, no days, the scope unverified, never read as 1970', (_, value) => {
    const c = listed(undefined, { active: true, expiresAt: value as unknown as number, validAt: value as unknown as number });
    const a = assess([c], [['proj_a', [inProject(c, true)]]], options());
    expect(a.certificates[0]).toMatchObject({ expiresAt: undefined, validAt: undefined, daysUntilExpiry: undefined });
    expect(a.scopes.map((s) => s.state)).toEqual(['unknown', 'unknown']);
    expect(a).toMatchObject({ renewalDue: false, failing: false, unverified: true, shortest: undefined });
  });

  it('a scope with a dated certificate is not unverified, even beside an undated one', () => {
    const a = assess(
      [listed(undefined, { active: true, expiresAt: null as unknown as number }), listed(400, { active: true })],
      [],
      options(),
    );
    expect(a.scopes[0]?.state).toBe('ok');
    expect(a.unverified).toBe(false);
  });

  it('reads no clock: the same lists and now give the same assessment', () => {
    const lists = [listed(20, { active: true })];
    const later = new Date(NOW.getTime() + 15 * DAY * 1000);
    expect(assess(lists, [], options({ now: later })).scopes[0]?.state).toBe('failing');
    expect(assess(lists, [], options()).scopes[0]?.state).toBe('due');
  });

  it('projects count only the activations their own lists show', () => {
    const org = listed(600, { active: true });
    const beta = listed(20);
    const a = assess(
      [org, beta],
      [
        ['proj_alpha', [inProject(org, true), inProject(beta, false)]],
        ['proj_beta', [inProject(org, false), inProject(beta, true)]],
      ],
      options(),
    );
    expect(a.scopes.map((s) => [s.scope, s.state, s.coveredBy?.id])).toEqual([
      ['organization', 'ok', org.id],
      ['proj_alpha', 'ok', org.id],
      ['proj_beta', 'due', beta.id],
    ]);
    expect(a.shortest?.scope).toBe('proj_beta');
    expect(a.certificates.map((c) => [c.id, c.active])).toEqual([
      [org.id, ['organization', 'proj_alpha']],
      [beta.id, ['proj_beta']],
    ]);
  });

  it('the shortest coverage is the earliest end among the scopes; the first scope wins a tie', () => {
    const a1 = listed(100, { active: true });
    const p = listed(50);
    const q = listed(50);
    const a = assess(
      [a1, p, q],
      [
        ['proj_p', [inProject(p, true)]],
        ['proj_q', [inProject(q, true)]],
      ],
      options(),
    );
    expect(a.shortest?.scope).toBe('proj_p');
    expect(a.shortest?.coveredBy?.id).toBe(p.id);
  });

  it('name watches only certificates with that name: others neither cover nor count as watched, but count in the total', () => {
    const other = listed(2, { name: 'other', active: true });
    const mine = listed(500, { name: 'corp', active: true });
    const a = assess([other, mine], [], options({ name: 'corp' }));
    expect(a.certificates.map((c) => c.id)).toEqual([mine.id]);
    expect(a.scopes[0]).toMatchObject({ state: 'ok', coveredBy: expect.objectContaining({ id: mine.id }) });
    expect(a.count).toBe(2);
    expect(assess([other], [], options({ name: 'corp' })).scopes[0]?.state).toBe('none');
    // A certificate without a name is not watched under a name.
    expect(assess([listed(2, { name: null, active: true })], [], options({ name: 'corp' })).certificates).toEqual([]);
  });

  it('gives each watched certificate its days until expiry, rounded down, and keeps the list order', () => {
    const a = assess([listed(10.5), listed(-0.5), listed(undefined)], [], options());
    expect(a.certificates.map((c) => c.daysUntilExpiry)).toEqual([10, -1, undefined]);
    expect(a.now).toBe(NOW);
  });
});

describe('assess: ties and scopes that differ', () => {
  it('the certificate that expires last covers the scope, in any order; of two expiring together, the first listed', () => {
    const later = listed(400, { active: true });
    const earlier = listed(10, { active: true });
    expect(assess([later, earlier], [], options()).scopes[0]!.coveredBy?.id).toBe(later.id);
    const a = listed(200, { active: true });
    const b = listed(200, { active: true });
    expect(assess([a, b], [], options()).scopes[0]!.coveredBy?.id).toBe(a.id);
  });

  it('renewal is due, or the step fails, when any one scope is due or failing, not only when all are', () => {
    const fine = listed(400, { active: true });
    const due = listed(20);
    const failing = listed(3);
    const a = assess(
      [fine, due, failing],
      [
        ['proj_due', [inProject(due, true)]],
        ['proj_ok', [inProject(fine, true)]],
      ],
      options(),
    );
    expect(a.scopes.map((s) => s.state)).toEqual(['ok', 'due', 'ok']);
    expect(a).toMatchObject({ renewalDue: true, failing: false });
    const b = assess([fine, failing], [['proj_failing', [inProject(failing, true)]]], options());
    expect(b.scopes.map((s) => s.state)).toEqual(['ok', 'failing']);
    expect(b).toMatchObject({ renewalDue: true, failing: true });
  });
});
