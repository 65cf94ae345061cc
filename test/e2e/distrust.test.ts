/**
 * Issue 20, over the compiled action: no answer trusted for its status code alone, unknown dates never
 * read as 1970, two clocks, and a CA that is not valid yet. A 2xx that did not apply, a list that is not
 * a list and `null` dates never lead to a retirement or a deletion; a run that could not verify fails, and
 * one that read back what happened (an activation that only pretended) exits 0 with the scope still
 * covered by its old CA and without claiming the activation; with the runner's
 * clock 90 days fast or slow, nothing valid is deleted and the status action's figures follow the API's
 * clock; a CA not valid yet is activated beside the working one and nothing is retired.
 */
import { describe, type ExpectStatic } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { leaks, runAction, runStatusAction, type ActionRun, STACK_TRACE_LINE } from '../helpers/action.ts';
import { makeDatedCa } from '../helpers/certs.ts';
import { copiesOf, scopeProblems, waitFor } from '../helpers/race.ts';
import { serverTest as it } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
const now = Date.now();
const at = (days: number): Date => new Date(now + days * DAY);
// Made once for the file.
const [old, fresh, notYet, in2099, longLived, staged, expired, soon, later] = await Promise.all([
  makeDatedCa(at(-300), at(200), 'Corp CA gen 1'),
  makeDatedCa(at(-1), at(500), 'Corp CA gen 2'),
  makeDatedCa(at(1), at(500), 'Corp CA not valid until tomorrow'),
  makeDatedCa(new Date('2099-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z'), 'Corp CA 2099 typo'),
  makeDatedCa(at(-200), at(400), 'Long-lived CA'),
  makeDatedCa(at(-150), at(-60), 'Staged CA'),
  makeDatedCa(at(-400), at(-100), 'Expired CA'),
  makeDatedCa(at(-100), at(30), 'CA expiring in 30 days'),
  makeDatedCa(at(-100), at(120), 'CA expiring in 120 days'),
]);

const errorsOf = (run: ActionRun): string =>
  run.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n');
const writes = (emu: Emulator): string[] =>
  emu.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path.replace(/^\/v1\/organization/, '')}`);
const deactivations = (emu: Emulator) => emu.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/deactivate'));
const deletions = (emu: Emulator) => emu.requests.filter((r) => r.method === 'DELETE');
const rotation = (emu: Emulator, extra: Record<string, string> = {}): Record<string, string> => ({
  'admin-api-key': key,
  certificate: fresh.pem,
  name: 'corp-ca',
  'base-url': emu.baseURL,
  'activate-projects': 'proj_alpha',
  'retire-previous': 'true',
  ...extra,
});
const ACTIVATE = /^\/v1\/organization\/(projects\/[^/]+\/)?certificates\/activate$/;

/** A failed run that says why in an error annotation, without a stack trace or the key. */
function expectCleanFailure(expect: ExpectStatic, run: ActionRun, message: RegExp): void {
  expect(run.code, run.stdout).toBe(1);
  expect(errorsOf(run)).toMatch(message);
  expect(run.everything).not.toMatch(STACK_TRACE_LINE);
  expect(leaks(run, [key])).toEqual([]);
}

describe.concurrent('issue 20: a 2xx that did not apply never leads to a retirement', () => {
  for (const scope of ['organization', 'project'] as const) {
    it(`an activation for the ${scope} answered 200 as if applied, but not applied: nothing retired, nothing claimed`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator();
      const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
      emu.addFault({ kind: 'pretend', method: 'POST', path: ACTIVATE, times: Infinity });
      const inputs = scope === 'organization' ? rotation(emu, { 'activate-projects': '', 'activate-organization': 'true' }) : rotation(emu);
      const run = await runAction(inputs);
      // The answer looks applied; the read-back before retiring shows it was not: nothing is retired, the
      // old CA keeps the scope covered, and the outputs do not claim the scope.
      expect(deactivations(emu)).toEqual([]);
      expect(emu.activeIn(scope === 'organization' ? 'organization' : 'proj_alpha')).toEqual([previous.id]);
      expect(run.outputs.retired).toBe('');
      expect(run.outputs.activated).toBe('');
      expect(run.annotations).toContainEqual(
        expect.objectContaining({ level: 'warning', message: expect.stringMatching(/read back, it does not list cert_\w+ active/) }),
      );
      expect(run.everything).not.toMatch(STACK_TRACE_LINE);
      expect(run.summary).not.toBe('');
    }, 60_000);
  }

  for (const shape of ['html', 'empty-object', 'empty-list'] as const) {
    it(`an activation answered 200 with ${shape} and not applied: read back, nothing retired, the run fails`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator();
      const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
      emu.addFault({ kind: 'wrong-shape', shape, method: 'POST', path: ACTIVATE, times: Infinity });
      const run = await runAction(rotation(emu));
      expectCleanFailure(expect, run, /does not list it active\. Nothing was retired/);
      expect(deactivations(emu)).toEqual([]);
      expect(emu.activeIn('proj_alpha')).toEqual([previous.id]);
    }, 60_000);

    it(`an activation answered 200 with ${shape} but applied: the read-back shows it active, and only then is the old CA retired`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator();
      const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
      emu.addFault({ kind: 'wrong-shape', shape, apply: true, method: 'POST', path: ACTIVATE, times: Infinity });
      const run = await runAction(rotation(emu));
      expect(run.code, run.stdout).toBe(0);
      const [mine] = copiesOf(emu, fresh.fingerprint);
      expect(emu.activeIn('proj_alpha')).toEqual([mine!.id]);
      expect(run.outputs.retired).toBe(previous.id);
      expect(scopeProblems(emu, { proj_alpha: { mustInclude: [fresh.fingerprint] } })).toEqual([]);
    }, 60_000);
  }
});

describe.concurrent('issue 20: a list that is not a list is an error, never "empty"', () => {
  for (const shape of ['html', 'empty-object'] as const) {
    it(`the organization's list answered 200 with ${shape}: the rotation sends no write; the status action is not green`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator();
      emu.addCertificate(old.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
      emu.addFault({ kind: 'wrong-shape', shape, method: 'GET', path: '/organization/certificates', times: Infinity });
      const run = await runAction(rotation(emu, { 'delete-expired': 'true' }));
      expectCleanFailure(expect, run, /list the certificates of the organization.*(HTML page|not a list)/s);
      expect(writes(emu)).toEqual([]);
      const status = await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL, projects: 'proj_alpha' });
      expectCleanFailure(expect, status, /list the certificates of the organization.*(HTML page|not a list)/s);
      expect(status.outputs['renewal-due']).not.toBe('false');
    }, 60_000);
  }

  it("the project's list, read back right before retiring, answered 200 with HTML: nothing retired", async ({ emulator, expect }) => {
    const emu = await emulator();
    const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
    // The activation is held, so the test can turn the project's list into an HTML page before the read-back.
    emu.addFault({ kind: 'hold', delayMs: 800, method: 'POST', path: ACTIVATE });
    const running = runAction(rotation(emu));
    await waitFor(() => emu.requests.some((r) => ACTIVATE.test(r.path)), 'the activation');
    emu.addFault({
      kind: 'wrong-shape',
      shape: 'html',
      method: 'GET',
      path: '/organization/projects/proj_alpha/certificates',
      times: Infinity,
    });
    const run = await running;
    expectCleanFailure(expect, run, /list the certificates of project proj_alpha.*HTML page/s);
    expect(deactivations(emu)).toEqual([]);
    const [mine] = copiesOf(emu, fresh.fingerprint);
    expect(emu.activeIn('proj_alpha').sort()).toEqual([previous.id, mine!.id].sort()); // both: never none
  }, 60_000);
});

describe.concurrent('issue 20: unknown dates are unknown, never 1970', () => {
  it('delete-expired never deletes a certificate listed with a null expiry (valid or not); it does delete one known expired', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const nullExpiry = emu.addCertificate(longLived.pem, { name: 'staged', nullDates: ['expires_at'] });
    const nullBoth = emu.addCertificate(staged.pem, { name: 'staged-2', nullDates: ['valid_at', 'expires_at'], skipValidation: true });
    const gone = emu.addCertificate(expired.pem, { name: 'gone', skipValidation: true });
    const run = await runAction(rotation(emu, { 'delete-expired': 'true', 'retire-previous': 'false' }));
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.deleted).toBe(gone.id);
    expect(deletions(emu).map((r) => r.path.split('/').pop())).toEqual([gone.id]);
    expect(emu.certificates.map((c) => c.id)).toEqual(expect.arrayContaining([nullExpiry.id, nullBoth.id]));
    expect(run.everything).not.toMatch(/1970/);
  }, 60_000);

  it('the status action with an active CA whose expiry the API does not give: fails to verify, reports no date, never 1970', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    emu.addCertificate(longLived.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'], nullDates: ['expires_at'] });
    const status = await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL, projects: 'proj_alpha' });
    expect(status.code, status.stdout).toBe(1);
    expect(status.outputs['renewal-due']).not.toBe('false');
    expect(status.everything).not.toMatch(/1970/);
    expect(status.everything).not.toMatch(STACK_TRACE_LINE);
  }, 60_000);

  it('a rotation whose certificate the API lists with null dates retires nothing', async ({ emulator, expect }) => {
    const emu = await emulator();
    const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
    // An earlier upload of the same CA, which the API lists without dates: reused, then held back from retiring.
    const mine = emu.addCertificate(fresh.pem, { name: 'corp-ca', nullDates: ['valid_at', 'expires_at'] });
    const run = await runAction(rotation(emu));
    expect(run.outputs['certificate-id']).toBe(mine.id);
    expect(deactivations(emu)).toEqual([]);
    expect(emu.activeIn('proj_alpha').sort()).toEqual([previous.id, mine.id].sort());
    expect(run.outputs.retired).toBe('');
    expect(run.everything).not.toMatch(/1970/);
  }, 60_000);
});

describe.concurrent("issue 20: two clocks — the runner's 90 days off the API's", () => {
  it("runner 90 days fast: delete-expired keeps a CA valid by the API's clock (expired by the runner's), deletes one expired by both, and warns", async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator({ clockOffsetMs: -90 * DAY });
    // By the API's clock (90 days behind the runner's): `staged` ends in 30 days, `expired` ended 10 days ago.
    const kept = emu.addCertificate(staged.pem, { name: 'next', skipValidation: true });
    const gone = emu.addCertificate(expired.pem, { name: 'gone', skipValidation: true });
    const run = await runAction(rotation(emu, { certificate: longLived.pem, 'delete-expired': 'true', 'retire-previous': 'false' }));
    expect(run.code, run.stdout).toBe(0);
    expect(emu.certificates.map((c) => c.id)).toContain(kept.id);
    expect(deletions(emu).map((r) => r.path.split('/').pop())).toEqual([gone.id]);
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', title: 'clock', message: expect.stringMatching(/ahead of the API's/) }),
    );
  }, 60_000);

  it("runner 90 days slow: delete-expired deletes what the API's clock says has expired, and keeps what is valid by it", async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator({ clockOffsetMs: 90 * DAY });
    // By the API's clock (90 days ahead): `soon` ended 60 days ago; `later` ends in 30 days.
    const gone = emu.addCertificate(soon.pem, { name: 'gone' });
    const kept = emu.addCertificate(later.pem, { name: 'next' });
    const run = await runAction(rotation(emu, { certificate: longLived.pem, 'delete-expired': 'true', 'retire-previous': 'false' }));
    expect(run.code, run.stdout).toBe(0);
    expect(emu.certificates.map((c) => c.id)).toContain(kept.id);
    expect(deletions(emu).map((r) => r.path.split('/').pop())).toEqual([gone.id]);
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', title: 'clock', message: expect.stringMatching(/behind/) }),
    );
  }, 60_000);

  for (const [label, offsetDays, expiresInDays, apiDays, due] of [
    ['fast', -90, 10, 100, 'false'],
    ['slow', 90, 100, 10, 'true'],
  ] as const) {
    it(`the status action, runner 90 days ${label}: days-until-expiry and renewal-due follow the API's clock`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator({ clockOffsetMs: offsetDays * DAY });
      const ca = await makeDatedCa(at(-100), at(expiresInDays), `Status CA ${label}`);
      emu.addCertificate(ca.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
      const status = await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL, projects: 'proj_alpha' });
      expect(status.code, status.stdout).toBe(0);
      const days = Number(status.outputs['days-until-expiry']);
      expect(days).toBeGreaterThanOrEqual(apiDays - 1);
      expect(days).toBeLessThanOrEqual(apiDays);
      expect(status.outputs['renewal-due']).toBe(due);
      expect(status.annotations).toContainEqual(expect.objectContaining({ level: 'warning', title: 'clock' }));
    }, 60_000);
  }
});

describe.concurrent('issue 20: a CA that is not valid yet never causes a retirement', () => {
  for (const [label, ca] of [
    ['tomorrow', notYet],
    ['in 2099 (a typo)', in2099],
  ] as const) {
    it(`valid from ${label}: activated beside the working CA in the organization and the project, nothing retired, a warning says when`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator();
      const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
      const run = await runAction(rotation(emu, { certificate: ca.pem, 'activate-organization': 'true' }));
      expect(run.code, run.stdout).toBe(0);
      const [mine] = copiesOf(emu, ca.fingerprint);
      for (const scope of ['organization', 'proj_alpha']) expect(emu.activeIn(scope).sort()).toEqual([previous.id, mine!.id].sort());
      expect(deactivations(emu)).toEqual([]);
      expect(run.outputs.retired).toBe('');
      const when = ca.notBefore.toISOString().replace(/\.\d{3}Z$/, 'Z');
      expect(run.annotations).toContainEqual(
        expect.objectContaining({ level: 'warning', message: expect.stringContaining(`not valid until ${when}`) }),
      );
      // The working CA keeps the scopes covered now.
      expect(
        scopeProblems(emu, {
          organization: { mustInclude: [old.fingerprint, ca.fingerprint] },
          proj_alpha: { mustInclude: [old.fingerprint, ca.fingerprint] },
        }),
      ).toEqual([]);
    }, 60_000);
  }
});
