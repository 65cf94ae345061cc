import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ListedCertificate, StoredCertificate } from '../../src/api/reader.js';
import { decodeInput } from '../../src/certificate/decode.js';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.js';
import {
  converge,
  decide,
  deletable,
  isOlder,
  oldestFirst,
  retirementsIn,
  scopeAdvisories,
  validNow,
  type Request,
  type State,
} from '../../src/rotation/decide.js';
import { ActionError } from '../../src/errors.js';
import { seconds } from '../../src/time.js';
import { makeCa } from '../helpers/certs.ts';

const DAY = 86_400;
let certificate: CertificateInfo;
let now: Date;
let t: number;
beforeAll(() => {
  certificate = inspectCertificate(decodeInput(makeCa({ cn: 'Decide' }).pem).blocks[0]!.der);
  // Decisions at a moment when the test CA (valid from about now, for years) is valid.
  now = new Date(certificate.notBefore.getTime() + 3_600_000);
  t = seconds(now);
});

const request = (overrides: Partial<Request> = {}): Request => ({
  name: 'corp',
  reuseExisting: true,
  retirePrevious: true,
  deleteExpired: false,
  activateOrganization: true,
  activateProjects: ['proj_a'],
  ...overrides,
});

const listed = (id: string, overrides: Partial<ListedCertificate> = {}): ListedCertificate => ({
  id,
  name: 'corp',
  createdAt: t - 100 * DAY,
  validAt: t - 100 * DAY,
  expiresAt: t + 100 * DAY,
  active: true,
  ...overrides,
});

const stateOf = (organization: ListedCertificate[], projects: State['projects'] = [], identical: StoredCertificate[] = []): State => ({
  certificate,
  organization,
  projects,
  allProjectsRead: true,
  identical,
  existing: undefined,
});

describe('decide', () => {
  it('retires older certificates of the same name where the target is activated, and leaves the rest named', () => {
    const old = listed('cert_old');
    const other = listed('cert_other', { name: 'other' });
    const plan = decide(stateOf([old, other], [['proj_a', [old]]]), request(), now);
    expect(plan.target).toEqual({ kind: 'upload' });
    expect(plan.scopes.map((s) => [s.scope, s.activate, s.retire.map((c) => c.id), s.leftActive.map((c) => c.id)])).toEqual([
      ['organization', true, ['cert_old'], ['cert_other']],
      ['proj_a', true, ['cert_old'], []],
    ]);
    expect(plan.advisories.map((a) => a.message).join('\n')).toMatch(/Left active in the organization: cert_other \("other"\)/);
  });

  it('never retires a newer CA of the same name: the newest stays active whatever the order of runs', () => {
    const newer = listed('cert_newer', { validAt: seconds(certificate.notBefore) + DAY, createdAt: t - DAY });
    const plan = decide(stateOf([newer]), request({ activateProjects: [] }), now);
    expect(plan.scopes[0]!.retire).toEqual([]);
    expect(plan.advisories.some((a) => /newer than this run's certificate/.test(a.message))).toBe(true);
  });

  it('retires nothing while the new certificate is not valid yet, and says when it becomes valid', () => {
    const old = listed('cert_old');
    const early = new Date(certificate.notBefore.getTime() - 2 * DAY * 1000);
    const plan = decide(stateOf([old]), request({ activateProjects: [] }), early);
    expect(plan.scopes[0]!.retire).toEqual([]);
    expect(plan.retireHeld).toMatch(/not valid until/);
    expect(plan.advisories[0]).toMatchObject({ level: 'warning', title: 'retire-previous' });
  });

  it('keeps a certificate with an unknown valid_at active, with a notice, and never deletes an undated one', () => {
    const undated = listed('cert_undated', { validAt: null });
    const plan = decide(stateOf([undated]), request({ activateProjects: [] }), now);
    expect(plan.scopes[0]!.retire).toEqual([]);
    expect(plan.advisories.some((a) => /gives no valid_at/.test(a.message))).toBe(true);
    const nullExpiry = listed('cert_null', { active: false, expiresAt: null, name: null });
    expect(deletable(stateOf([nullExpiry]), new Set(), now)).toEqual([]);
  });

  it('warns when retiring shortens coverage, with both dates and the days lost', () => {
    const longer = listed('cert_long', { validAt: t - 400 * DAY, expiresAt: seconds(certificate.notAfter) + 300 * DAY });
    const plan = decide(stateOf([longer]), request({ activateProjects: [] }), now);
    expect(plan.scopes[0]!.retire.map((c) => c.id)).toEqual(['cert_long']);
    const warning = plan.advisories.find((a) => a.title === 'coverage');
    expect(warning?.message).toMatch(/300 days fewer/);
  });

  it('reuses the oldest identical copy by created_at then id, never by list order', () => {
    const copy = (id: string, createdAt: number): StoredCertificate => ({
      id,
      name: 'corp',
      createdAt,
      validAt: seconds(certificate.notBefore),
      expiresAt: seconds(certificate.notAfter),
      content: certificate.pem,
    });
    const copies = [copy('cert_b', 10), copy('cert_c', 5), copy('cert_a', 10)];
    const asListed = copies.map((c) => listed(c.id, { createdAt: c.createdAt, active: false }));
    const plan = decide(stateOf(asListed, [], copies), request(), now);
    expect(plan.target).toMatchObject({ kind: 'reuse', certificate: { id: 'cert_c' } });
    expect(plan.duplicates.map((c) => c.id)).toEqual(['cert_a', 'cert_b']);
    expect(converge(copies, stateOf(asListed)).keeper?.id).toBe('cert_c');
  });

  it('makes room under the cap with expired certificates, or refuses a 51st', () => {
    const full = Array.from({ length: 50 }, (_, i) => listed(`cert_${i}`, { active: false, name: null }));
    expect(() => decide(stateOf(full), request({ retirePrevious: false }), now)).toThrow(/already holds 50 certificates/);
    full[3] = listed('cert_expired', { active: false, expiresAt: t - DAY });
    const plan = decide(stateOf(full), request({ retirePrevious: false, deleteExpired: true }), now);
    expect(plan.deleteFirst.map((c) => c.id)).toEqual(['cert_expired']);
  });
});

// ---- properties over random organizations ------------------------------------------------------

const ids = Array.from({ length: 8 }, (_, i) => `cert_${String.fromCharCode(97 + i)}`);
const PROJECTS = ['proj_a', 'proj_b'];
const date = fc.option(fc.integer({ min: -500, max: 500 }), { nil: null });

const arbitraryWorld = fc.record({
  certs: fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...ids),
      name: fc.constantFrom<string | null>('corp', 'other', null),
      created: fc.integer({ min: -500, max: 0 }),
      valid: date,
      expires: date,
      activeOrg: fc.boolean(),
      activeIn: fc.subarray(PROJECTS),
      identical: fc.boolean(),
    }),
    { selector: (c) => c.id, maxLength: 8 },
  ),
  request: fc.record({
    reuseExisting: fc.boolean(),
    retirePrevious: fc.boolean(),
    deleteExpired: fc.boolean(),
    activateOrganization: fc.boolean(),
    activateProjects: fc.subarray(PROJECTS),
  }),
  clockDays: fc.integer({ min: -30, max: 30 }),
});

type World = typeof arbitraryWorld extends fc.Arbitrary<infer W> ? W : never;

function worldToState(world: World): {
  state: State;
  request: Request;
  at: Date;
} {
  const organization = world.certs.map((c) =>
    listed(c.id, {
      name: c.name,
      createdAt: t + c.created * DAY,
      validAt: c.valid === null ? null : t + c.valid * DAY,
      expiresAt: c.expires === null ? null : t + c.expires * DAY,
      active: c.activeOrg,
    }),
  );
  const projects: State['projects'] = PROJECTS.map((p) => [
    p,
    world.certs.map((c, i) => ({ ...organization[i]!, active: c.activeIn.includes(p) })),
  ]);
  const identical = world.certs
    .filter((c) => c.identical)
    .map((c): StoredCertificate => {
      const { id, name, createdAt, validAt, expiresAt } = organization.find((o) => o.id === c.id)!;
      return { id, name, createdAt, validAt, expiresAt, content: certificate.pem };
    });
  return {
    state: { certificate, organization, projects, allProjectsRead: true, identical, existing: undefined },
    request: { ...world.request, name: 'corp' },
    at: new Date(now.getTime() + world.clockDays * DAY * 1000),
  };
}

describe('decide: invariants over random organizations', () => {
  it('never deactivates the target or a copy of it, never deletes an active or undated certificate, never retires where the target will not be active', () => {
    fc.assert(
      fc.property(arbitraryWorld, (world) => {
        const { state, request: req, at } = worldToState(world);
        let plan;
        try {
          plan = decide(state, req, at);
        } catch {
          return; // a refusal (the cap) decides nothing
        }
        const targetId = plan.target.kind === 'upload' ? undefined : plan.target.certificate.id;
        const copies = new Set(state.identical.map((c) => c.id));
        const activeAnywhere = (id: string) =>
          state.organization.some((c) => c.id === id && c.active) || state.projects.some(([, l]) => l.some((c) => c.id === id && c.active));
        const requested = new Set([...(req.activateOrganization ? ['organization'] : []), ...req.activateProjects]);
        for (const scope of plan.scopes) {
          expect(requested.has(scope.scope)).toBe(true);
          for (const retired of scope.retire) {
            expect(retired.id).not.toBe(targetId);
            expect(copies.has(retired.id)).toBe(false);
            expect(retired.name).toBe('corp');
            expect(retired.validAt).not.toBeNull();
          }
        }
        if (plan.retireHeld) expect(plan.scopes.every((s) => s.retire.length === 0)).toBe(true);
        for (const deleted of [...plan.deleteFirst, ...plan.deleteAfter, ...plan.duplicates]) {
          expect(deleted.id).not.toBe(targetId);
          expect(activeAnywhere(deleted.id)).toBe(false);
        }
        for (const deleted of [...plan.deleteFirst, ...plan.deleteAfter]) {
          expect(deleted.expiresAt).not.toBeNull();
          expect(deleted.expiresAt!).toBeLessThanOrEqual(at.getTime() / 1000);
          expect(copies.has(deleted.id)).toBe(false);
        }
        if (!req.retirePrevious) expect(plan.scopes.every((s) => s.retire.length === 0)).toBe(true);
        if (!req.deleteExpired) expect(plan.deleteFirst.length + plan.deleteAfter.length).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('whatever the order in which two CAs of one name are rotated, the newer one is never retired by the older one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: -400, max: 400 }), (gap, created) => {
        const older = listed('cert_older', { validAt: t - gap * DAY, createdAt: t + created });
        const newer = listed('cert_newer', { validAt: t, createdAt: t });
        expect(isOlder(newer, older)).toBe(false);
        const fromOlder = retirementsIn([older, newer], older, { name: 'corp', copies: new Set(), now });
        expect(fromOlder.retire.map((c) => c.id)).toEqual([]);
        const fromNewer = retirementsIn([older, newer], newer, { name: 'corp', copies: new Set(), now });
        expect(fromNewer.retire.map((c) => c.id)).toEqual(['cert_older']);
      }),
    );
  });

  it('converge keeps the same copy whatever the order the list gives', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.constantFrom(...ids), createdAt: fc.integer({ min: 0, max: 5 }) }), {
          selector: (c) => c.id,
          minLength: 1,
        }),
        (raw) => {
          const copies = raw.map((c): StoredCertificate => ({ ...c, name: null, validAt: null, expiresAt: null, content: undefined }));
          const keeper = converge(copies, stateOf([])).keeper;
          expect(converge([...copies].reverse(), stateOf([])).keeper).toBe(keeper);
          expect(keeper).toBe(oldestFirst(copies)[0]);
        },
      ),
    );
  });
});

describe('decide: the rules at their edges', () => {
  const stored = (id: string, overrides: Partial<StoredCertificate> = {}): StoredCertificate => ({
    id,
    name: 'corp',
    createdAt: t - DAY,
    validAt: seconds(certificate.notBefore),
    expiresAt: seconds(certificate.notAfter),
    content: certificate.pem,
    ...overrides,
  });

  it('isOlder: an earlier valid_at; equal, an earlier created_at; equal too, the smaller id; unknown without a valid_at', () => {
    const a = listed('cert_a', { validAt: 100, createdAt: 50 });
    expect(isOlder(a, listed('cert_b', { validAt: 101, createdAt: 10 }))).toBe(true);
    expect(isOlder(a, listed('cert_b', { validAt: 99, createdAt: 90 }))).toBe(false);
    expect(isOlder(a, listed('cert_0', { validAt: 100, createdAt: 51 }))).toBe(true);
    expect(isOlder(a, listed('cert_0', { validAt: 100, createdAt: 49 }))).toBe(false);
    expect(isOlder(a, listed('cert_b', { validAt: 100, createdAt: 50 }))).toBe(true);
    expect(isOlder(a, listed('cert_0', { validAt: 100, createdAt: 50 }))).toBe(false);
    expect(isOlder(a, listed('cert_a', { validAt: 100, createdAt: 50 }))).toBe(false);
    expect(isOlder(listed('cert_a', { validAt: null }), a)).toBeNull();
    expect(isOlder(a, listed('cert_b', { validAt: null }))).toBeNull();
  });

  it('oldestFirst: by created_at, then id, whatever the order given', () => {
    const order = (ids: Array<[string, number]>): string[] =>
      oldestFirst(ids.map(([id, createdAt]) => ({ id, createdAt }))).map((c) => c.id);
    expect(
      order([
        ['cert_b', 5],
        ['cert_a', 5],
        ['cert_c', 4],
      ]),
    ).toEqual(['cert_c', 'cert_a', 'cert_b']);
    expect(
      order([
        ['cert_a', 5],
        ['cert_c', 5],
        ['cert_b', 5],
      ]),
    ).toEqual(['cert_a', 'cert_b', 'cert_c']);
    expect(
      order([
        ['cert_c', 5],
        ['cert_b', 5],
        ['cert_a', 5],
      ]),
    ).toEqual(['cert_a', 'cert_b', 'cert_c']);
  });

  it('validNow: from valid_at included to expires_at excluded; an unknown date is never valid', () => {
    expect(validNow({ validAt: 100, expiresAt: 200 }, 100)).toBe(true);
    expect(validNow({ validAt: 100, expiresAt: 200 }, 199)).toBe(true);
    expect(validNow({ validAt: 100, expiresAt: 200 }, 200)).toBe(false);
    expect(validNow({ validAt: 100, expiresAt: 200 }, 99)).toBe(false);
    expect(validNow({ validAt: null, expiresAt: 200 }, 150)).toBe(false);
    expect(validNow({ validAt: 100, expiresAt: null }, 150)).toBe(false);
  });

  it('retire-previous holds while the target is undated, not valid yet or expired (at its expiry exactly too)', () => {
    const old = listed('cert_old', { validAt: t - 300 * DAY, createdAt: t - 300 * DAY });
    const held = (existing: StoredCertificate, at: Date = now): string | undefined =>
      decide({ ...stateOf([old]), existing }, request({ activateProjects: [] }), at).retireHeld;
    expect(held(stored('cert_t', { validAt: null }))).toMatch(/validity dates of the new certificate are not known/);
    expect(held(stored('cert_t', { expiresAt: null }))).toMatch(/validity dates of the new certificate are not known/);
    expect(held(stored('cert_t', { expiresAt: t }))).toMatch(/expired on/);
    expect(held(stored('cert_t', { expiresAt: t + 1 }))).toBeUndefined();
    expect(held(stored('cert_t', { validAt: t + 1 }))).toMatch(/not valid until/);
    expect(held(stored('cert_t', { validAt: t }))).toBeUndefined();
    const plan = decide({ ...stateOf([old]), existing: stored('cert_t', { expiresAt: t }) }, request({ activateProjects: [] }), now);
    expect(plan.scopes[0]!.retire).toEqual([]);
    expect(plan.advisories.map((a) => `${a.level} ${a.title}`)).toContain('warning retire-previous');
  });

  it('retire-previous matches the name asked, else the name of the certificate reused or named; never no name', () => {
    const named = stored('cert_t', { name: 'theirs' });
    const nameOf = (r: Partial<Request>, existing?: StoredCertificate): string | undefined =>
      decide({ ...stateOf([]), existing }, request({ activateProjects: [], ...r }), now).retireName;
    expect(nameOf({})).toBe('corp');
    expect(nameOf({ name: undefined }, named)).toBe('theirs');
    expect(nameOf({}, named)).toBe('corp');
    expect(nameOf({ retirePrevious: false })).toBeUndefined();
    for (const [r, existing] of [
      [{ name: undefined }, undefined],
      [{ name: undefined }, stored('cert_t', { name: null })],
    ] as const) {
      let error: unknown;
      try {
        decide({ ...stateOf([]), existing }, request({ activateProjects: [], ...r }), now);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ActionError);
      expect((error as ActionError).title).toBe('input retire-previous');
      // The certificate is named, the one to be uploaded too.
      expect((error as ActionError).message).toContain(`certificate ${existing ? 'cert_t' : '(to be uploaded)'} has no name`);
    }
  });

  it('delete-expired: deletable at its expiry exactly, not while active anywhere read, never the target or a copy', () => {
    const at = listed('cert_at', { active: false, expiresAt: t });
    const later = listed('cert_later', { active: false, expiresAt: t + 1 });
    const inProject = listed('cert_proj', { active: false, expiresAt: t - DAY });
    const kept = listed('cert_kept', { active: false, expiresAt: t - DAY });
    const state = stateOf([at, later, inProject, kept], [['proj_a', [{ ...inProject, active: true }]]]);
    expect(deletable(state, new Set(['cert_kept']), now).map((c) => c.id)).toEqual(['cert_at']);
  });

  it('delete-expired: a notice for each expired certificate still active somewhere read, naming where', () => {
    const both = listed('cert_both', { expiresAt: t - DAY, active: true });
    const project = listed('cert_project', { expiresAt: t - DAY, active: false });
    const inactive = listed('cert_inactive', { expiresAt: t - DAY, active: false });
    const valid = listed('cert_valid', { expiresAt: t + DAY, active: true, name: 'other' });
    const undated = listed('cert_undated', { expiresAt: null, active: true, name: 'other' });
    const state = stateOf(
      [both, project, inactive, valid, undated],
      [
        ['proj_a', [{ ...both, active: true }, { ...project, active: true }, valid]],
        ['proj_b', [{ ...both, active: false }]],
      ],
    );
    const plan = decide(state, request({ retirePrevious: false, deleteExpired: true }), now);
    const notices = plan.advisories.filter((a) => a.title === 'delete-expired');
    expect(notices.map((a) => a.level)).toEqual(['notice', 'notice']);
    expect(notices[0]!.message).toMatch(/^Kept cert_both .*still active for the organization, project proj_a\./);
    expect(notices[1]!.message).toMatch(/^Kept cert_project .*still active for project proj_a\./);
    expect(plan.deleteAfter.map((c) => c.id)).toEqual(['cert_inactive']);
    expect(decide(state, request({ retirePrevious: false }), now).advisories.filter((a) => a.title === 'delete-expired')).toEqual([]);
  });

  it('delete-expired: a notice that a certificate active in a project not read is kept, only when not every project was read', () => {
    const old = listed('cert_old', { active: false, expiresAt: t - DAY });
    const notice = (allProjectsRead: boolean, deleteExpired: boolean, organization = [old]): boolean =>
      decide({ ...stateOf(organization), allProjectsRead }, request({ retirePrevious: false, deleteExpired }), now).advisories.some(
        (a) => a.level === 'notice' && a.title === 'delete-expired',
      );
    expect(notice(false, true)).toBe(true);
    expect(notice(true, true)).toBe(false);
    expect(notice(false, false)).toBe(false);
    expect(notice(false, true, [])).toBe(false);
  });

  it('the plan keeps the copies, the ids read, and the canary project first', () => {
    const copy = stored('cert_copy', { createdAt: t - 9 * DAY });
    const other = listed('cert_x', { name: 'x', active: false });
    const state = stateOf([other, listed('cert_copy', { active: false })], [], [copy]);
    const plan = decide(state, request({ retirePrevious: false, activateProjects: ['proj_a', 'proj_c'], canaryProject: 'proj_c' }), now);
    expect(plan.copies).toEqual(['cert_copy']);
    expect(plan.before).toEqual(['cert_x', 'cert_copy']);
    expect(plan.canaryProject).toBe('proj_c');
    expect(plan.scopes.map((s) => s.scope)).toEqual(['proj_c', 'organization', 'proj_a']);
    expect(plan.scopes[0]!.activeBefore).toEqual([]);
    const plain = decide(state, request({ retirePrevious: false }), now);
    expect('canaryProject' in plain).toBe(false);
  });

  it('duplicates are removed only when reusing: never with reuse-existing off, never on an upload; never one active anywhere', () => {
    const keeper = stored('cert_a', { createdAt: t - 9 * DAY });
    const idle = stored('cert_b', { createdAt: t - 8 * DAY });
    const busy = stored('cert_c', { createdAt: t - 7 * DAY });
    const listedAs = (c: StoredCertificate, active = false): ListedCertificate => ({ ...listed(c.id, { active }), createdAt: c.createdAt });
    const state = stateOf([listedAs(keeper), listedAs(idle), listedAs(busy)], [['proj_a', [listedAs(busy, true)]]], [keeper, idle, busy]);
    const r = request({ retirePrevious: false });
    expect(decide(state, r, now).duplicates.map((c) => c.id)).toEqual(['cert_b']);
    expect(decide({ ...state, existing: keeper }, { ...r, reuseExisting: false }, now).duplicates).toEqual([]);
    expect(decide({ ...state, identical: [] }, r, now).duplicates).toEqual([]);
    expect(converge([keeper, idle, busy], state).remove.map((c) => c.id)).toEqual(['cert_b']);
    const orgActive = stateOf([listedAs(keeper), listedAs(idle, true)], [], [keeper, idle]);
    expect(converge([keeper, idle], orgActive).remove).toEqual([]);
  });

  it('a full organization is refused with the certificate-limit title; a reused target needs no room', () => {
    const full = Array.from({ length: 50 }, (_, i) => listed(`cert_${i}`, { active: false, name: null }));
    let error: unknown;
    try {
      decide(stateOf(full), request({ retirePrevious: false }), now);
    } catch (e) {
      error = e;
    }
    expect((error as ActionError).title).toBe('certificate limit');
    expect(decide({ ...stateOf(full), existing: stored('cert_0') }, request({ retirePrevious: false }), now).target.kind).toBe('existing');
  });

  it('scopeAdvisories: the coverage lost only when the retired CA outlives the new one, and who is left active and why', () => {
    const target = listed('cert_t', { validAt: t, expiresAt: t + 100 * DAY, createdAt: t });
    const outlives = listed('cert_long', { validAt: t - DAY, expiresAt: t + 101 * DAY });
    const same = listed('cert_same', { validAt: t - DAY, expiresAt: t + 100 * DAY });
    const undated = listed('cert_undated', { validAt: null });
    const newer = listed('cert_newer', { validAt: t + DAY });
    const other = listed('cert_other', { name: 'other' });
    const advisories = scopeAdvisories('proj_a', target, { retire: [outlives, same], leftActive: [undated, newer, other], name: 'corp' });
    expect(advisories.map((a) => `${a.level} ${a.title} ${a.message.split(' ').slice(0, 2).join(' ')}`)).toEqual([
      'warning coverage Retiring cert_long',
      'notice retire-previous Kept cert_undated',
      'notice retire-previous Kept cert_newer',
      'notice retire-previous Left active',
    ]);
    expect(advisories[0]!.message).toMatch(/\(1 day fewer\)\.$/);
    expect(advisories[3]!.message).toMatch(/: cert_other \("other"\) \(another name/);
    expect(scopeAdvisories('proj_a', { ...target, expiresAt: null }, { retire: [outlives], leftActive: [], name: 'corp' })).toEqual([]);
    expect(scopeAdvisories('proj_a', target, { retire: [{ ...outlives, expiresAt: null }], leftActive: [], name: 'corp' })).toEqual([]);
  });
});
