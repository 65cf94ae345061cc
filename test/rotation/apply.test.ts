/**
 * observe → decide → apply, against the emulator through the SDK: what apply writes, in what order, what it
 * records in the Journal and what it says (log lines, notices, advisories), for each kind of target and
 * cleanup, and how it reads each scope back before retiring and after its writes.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CertificateApi } from '../../src/api/certificates.ts';
import { ApiError } from '../../src/api/errors.ts';
import type { StoredCertificate } from '../../src/api/reader.ts';
import { decodeInput } from '../../src/certificate/decode.ts';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.ts';
import { ActionError } from '../../src/errors.ts';
import type { Settings } from '../../src/inputs/settings.ts';
import { apply, type ApplyContext } from '../../src/rotation/apply.ts';
import { decide, type Advisory, type Plan } from '../../src/rotation/decide.ts';
import { Journal } from '../../src/rotation/journal.ts';
import { observe } from '../../src/rotation/observe.ts';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { recordingLogger, type RecordingLogger } from '../helpers/logger.ts';
import { sdkApi } from '../helpers/sdk.ts';
import { settingsFor } from '../helpers/settings.ts';

const DAY = 86_400_000;
let fresh: MadeCertificate;
let other: MadeCertificate;
let previous: MadeCertificate;
let filler: MadeCertificate;
let oldest: MadeCertificate;
let notYet: MadeCertificate;
let expired: MadeCertificate[];
beforeAll(async () => {
  fresh = makeCa({ cn: 'New' });
  other = makeCa({ cn: 'Other' });
  filler = makeCa({ cn: 'Filler', days: 200 });
  // Issued ten days ago: older than `fresh` by its valid_at, whatever second the tests run in.
  previous = await makeDatedCa(new Date(Date.now() - 10 * DAY), new Date(Date.now() + 90 * DAY), 'Old');
  oldest = await makeDatedCa(new Date(Date.now() - 20 * DAY), new Date(Date.now() + 90 * DAY), 'Oldest');
  notYet = await makeDatedCa(new Date(Date.now() + 5 * DAY), new Date(Date.now() + 400 * DAY), 'Not yet');
  expired = await Promise.all(
    ['Gone', 'Deleted', 'In use', 'Stale'].map((cn) => makeDatedCa(new Date(Date.now() - 100 * DAY), new Date(Date.now() - DAY), cn)),
  );
});

let emu: Emulator;
let api: CertificateApi;
let log: RecordingLogger;
let advised: Advisory[];
let journal: Journal;
beforeEach(async () => {
  emu = await startEmulator();
  api = sdkApi(emu.baseURL);
  log = recordingLogger();
  advised = [];
  journal = new Journal();
});
afterEach(() => emu.close());

const settings = (overrides: Partial<Settings> = {}): Settings => settingsFor(emu.baseURL, overrides);
const info = (pem: string): CertificateInfo => inspectCertificate(decodeInput(pem).blocks[0]!.der);
const context = (pem: string, name: string | undefined, target: CertificateApi = api): ApplyContext => ({
  api: target,
  retry: { maxRetries: 0, sleep: async () => undefined, random: () => 0.5 },
  log,
  journal,
  now: () => new Date(),
  certificate: info(pem),
  name,
  advise: (advisory) => void advised.push(advisory),
});
const writes = (): string[] =>
  emu.requests
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path.replace('/v1/organization', '')} ${JSON.stringify(r.body ?? '')}`);
const notices = (): string[] => [...log.notices, ...log.warnings.map((w) => `warning: ${w}`)];

async function plan(pem: string, overrides: Partial<Settings> = {}, existing?: StoredCertificate): Promise<Plan> {
  const request = settings(overrides);
  const now = new Date();
  const state = await observe(api, { ...request, now, log }, { certificate: info(pem), existing });
  return decide(state, request, now);
}

async function planAndApply(
  pem: string,
  overrides: Partial<Settings> = {},
  between?: (plan: Plan) => void,
  asked: string | null = 'corp',
): Promise<Plan> {
  const name = asked ?? undefined;
  const made = await plan(pem, { name, ...overrides });
  between?.(made);
  emu.requests.length = 0;
  log.clear();
  await apply(made, context(pem, name));
  return made;
}

describe('Journal', () => {
  it('starts empty: nothing uploaded, activated, retired or deleted, nothing in flight', () => {
    expect({ ...new Journal() }).toEqual({
      certificate: undefined,
      uploaded: false,
      lostAnswer: false,
      duplicates: [],
      activated: [],
      activeIn: new Set(),
      retired: [],
      deleted: [],
      keptInUse: [],
      cautions: [],
      knownCopies: new Map(),
      inFlight: new Set(),
    });
  });
});

describe('apply: the target', () => {
  it('an upload: activates the new certificate for the organization first, then in each project, once each', async () => {
    await planAndApply(fresh.pem, { activateOrganization: true, activateProjects: ['proj_alpha', 'proj_beta'] });
    const id = journal.certificate!.id;
    expect(journal).toMatchObject({ uploaded: true, lostAnswer: false, duplicates: [], retired: [], deleted: [], keptInUse: [] });
    expect(journal.activated[0]).toBe('organization');
    expect([...journal.activated].sort()).toEqual(['organization', 'proj_alpha', 'proj_beta']);
    expect([...journal.activeIn].sort()).toEqual(['organization', 'proj_alpha', 'proj_beta']);
    const done = writes();
    expect(done.slice(0, 2)).toEqual([
      `POST /certificates ${JSON.stringify({ certificate: fresh.pem, name: 'corp' })}`,
      `POST /certificates/activate {"certificate_ids":["${id}"]}`,
    ]);
    expect(done.slice(2).sort()).toEqual([
      `POST /projects/proj_alpha/certificates/activate {"certificate_ids":["${id}"]}`,
      `POST /projects/proj_beta/certificates/activate {"certificate_ids":["${id}"]}`,
    ]);
    expect(log.infos).toEqual(
      expect.arrayContaining([
        `Activated ${id} for the organization.`,
        `Activated ${id} for project proj_alpha.`,
        `Activated ${id} for project proj_beta.`,
      ]),
    );
    expect(notices()).toEqual([]);
    expect(advised).toEqual([]);
    expect(journal.inFlight.size).toBe(0);
  });

  it('reads each project back after activating the certificate there', async () => {
    await planAndApply(fresh.pem, { activateProjects: ['proj_alpha', 'proj_beta'] });
    const requests = emu.requests.map((r) => `${r.method} ${r.path.replace('/v1/organization', '')}`);
    for (const project of ['proj_alpha', 'proj_beta']) {
      const activated = requests.indexOf(`POST /projects/${project}/certificates/activate`);
      expect(activated).toBeGreaterThan(-1);
      expect(requests.lastIndexOf(`GET /projects/${project}/certificates`)).toBeGreaterThan(activated);
    }
  });

  it('reuse-existing false with an older identical certificate: uploads and keeps its own copy, not the older one', async () => {
    const older = emu.addCertificate(fresh.pem, { name: 'old', createdAt: Math.floor(Date.now() / 1000) - 60 });
    await planAndApply(fresh.pem, { reuseExisting: false });
    expect(journal.uploaded).toBe(true);
    expect(journal.certificate!.id).not.toBe(older.id);
    expect(journal.duplicates).toEqual([]);
    expect(emu.certificates).toHaveLength(2);
    expect(emu.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('a reused certificate: nothing uploaded, activated where it is not active yet, and said so where it is', async () => {
    const same = emu.addCertificate(fresh.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    await planAndApply(fresh.pem, { activateProjects: ['proj_alpha', 'proj_beta'] });
    expect(journal).toMatchObject({ uploaded: false, certificate: { id: same.id } });
    expect(journal.activated).toEqual(['proj_beta']);
    expect([...journal.activeIn].sort()).toEqual(['proj_alpha', 'proj_beta']);
    expect(writes()).toEqual([`POST /projects/proj_beta/certificates/activate {"certificate_ids":["${same.id}"]}`]);
    expect(log.infos).toContain(`The organization already holds this certificate as ${same.id}: reused, not uploaded again.`);
    expect(log.infos).toContain(`${same.id} was already active for project proj_alpha.`);
    expect(notices()).toEqual([]);
  });

  it('a reused certificate under another name keeps it, and a notice says so; with no name asked, nothing is said', async () => {
    const named = emu.addCertificate(fresh.pem, { name: 'corp-2026' });
    await planAndApply(fresh.pem, {}, undefined, 'corp-2027');
    expect(notices()).toEqual([
      `${named.id} keeps its name "corp-2026"; the name "corp-2027" was not applied. Rename it in the dashboard if you want the new name, or set reuse-existing: false to upload a copy under the new name.`,
    ]);
    expect(log.titles).toEqual(['notice: name']);
    await planAndApply(fresh.pem, {}, undefined, null);
    expect(notices()).toEqual([]);
    named.name = null;
    await planAndApply(fresh.pem, {}, undefined, 'corp-2027');
    expect(notices()).toEqual([
      expect.stringMatching(new RegExp(`^${named.id} keeps its name \\(none\\); the name "corp-2027" was not applied\\.`)),
    ]);
  });

  it('an existing target (certificate-id): nothing uploaded or reused, activated where needed', async () => {
    const stored = emu.addCertificate(fresh.pem, { name: 'other' });
    const existing = await api.retrieve(stored.id);
    const made = await plan(fresh.pem, { activateProjects: ['proj_alpha'] }, existing);
    emu.requests.length = 0;
    log.clear();
    await apply(made, context(fresh.pem, 'corp'));
    expect(journal).toMatchObject({ uploaded: false, certificate: { id: stored.id }, activated: ['proj_alpha'] });
    expect(writes()).toEqual([`POST /projects/proj_alpha/certificates/activate {"certificate_ids":["${stored.id}"]}`]);
    expect(log.infos.some((l) => l.includes('reused'))).toBe(false);
    expect(notices()).toEqual([]);
  });

  it("a racing run's older identical copy, stored with another name: kept, this run's copy deleted, and the name said", async () => {
    await planAndApply(fresh.pem, { activateProjects: ['proj_alpha'] }, () => {
      emu.addCertificate(fresh.pem, { name: 'raced', createdAt: Math.floor(Date.now() / 1000) - 5 });
    });
    const racer = emu.certificates.find((c) => c.name === 'raced')!;
    expect(journal.uploaded).toBe(false);
    expect(journal.certificate!.id).toBe(racer.id);
    expect(journal.duplicates).toHaveLength(1);
    expect(journal.duplicates[0]).not.toBe(racer.id);
    expect(emu.certificates.map((c) => c.id)).toEqual([racer.id]);
    expect(emu.activeIn('proj_alpha')).toEqual([racer.id]);
    expect(notices()).toEqual([expect.stringMatching(new RegExp(`^${racer.id} keeps its name "raced"; the name "corp" was not applied`))]);
  });

  it('after a lost answer, an older identical copy that appeared since the plan is kept but not claimed, and its name is said', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: '/organization/certificates' });
    await planAndApply(fresh.pem, {}, () => {
      emu.addCertificate(fresh.pem, { name: 'raced', createdAt: Math.floor(Date.now() / 1000) - 5 });
    });
    const racer = emu.certificates.find((c) => c.name === 'raced')!;
    expect(journal).toMatchObject({ uploaded: false, lostAnswer: true, certificate: { id: racer.id, name: 'raced' } });
    expect(journal.duplicates).toHaveLength(1);
    expect(emu.certificates.map((c) => c.id)).toEqual([racer.id]);
    expect(notices()).toEqual([expect.stringMatching(new RegExp(`^${racer.id} keeps its name "raced"; the name "corp" was not applied`))]);
  });
});

describe('apply: retiring', () => {
  it('retires only in the scopes that have something to retire, and says so', async () => {
    const old = emu.addCertificate(previous.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    await planAndApply(fresh.pem, { activateProjects: ['proj_alpha', 'proj_beta'], retirePrevious: true });
    const id = journal.certificate!.id;
    expect(journal.retired).toEqual([{ scope: 'proj_alpha', id: old.id }]);
    expect(writes().filter((w) => w.includes('/deactivate'))).toEqual([
      `POST /projects/proj_alpha/certificates/deactivate {"certificate_ids":["${old.id}"]}`,
    ]);
    expect(log.infos.filter((l) => l.startsWith('Retired'))).toEqual([
      `Retired ${old.id} ("corp") for project proj_alpha (older, same name "corp", replaced by ${id}).`,
    ]);
    expect(emu.activeIn('proj_alpha')).toEqual([id]);
    expect(advised).toEqual([]);
  });

  it('does not retire when the fresh read does not list the new certificate active, and says so', async () => {
    const old = emu.addCertificate(previous.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    // The activation is answered as if applied, but the API did not apply it.
    emu.addFault({ kind: 'pretend', method: 'POST', path: /\/activate$/ });
    const error = (await planAndApply(fresh.pem, { activateProjects: ['proj_alpha'], retirePrevious: true }).catch(
      (e: unknown) => e,
    )) as ActionError;
    const id = journal.certificate!.id;
    expect(writes().filter((w) => w.includes('/deactivate'))).toEqual([]);
    expect(journal.retired).toEqual([]);
    expect(advised).toContainEqual({
      level: 'warning',
      title: 'retire-previous',
      message: `Nothing was retired in project proj_alpha: read back, it does not list ${id} active.`,
    });
    // Never a green run on an activation that did not hold: the last read finds it missing, the run activates
    // it again (beside the old CA, still active) and fails, saying so.
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /^The API accepted an activation that a scope does not hold\. project proj_alpha: read back after the writes/,
    );
    expect(emu.activeIn('proj_alpha').sort()).toEqual([old.id, id].sort());
    // Activated again, but not claimed: only a read says where it is active.
    expect(journal.activeIn.has('proj_alpha')).toBe(false);
  });
});

describe('apply: coverage, read back after the writes', () => {
  it('a scope left with no active CA: the run activates its certificate there again and fails, saying what it found', async () => {
    emu.addFault({ kind: 'pretend', method: 'POST', path: /\/activate$/ });
    const error = (await planAndApply(fresh.pem, { activateProjects: ['proj_alpha'] }).catch((e: unknown) => e)) as ActionError;
    const id = journal.certificate!.id;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.title).toBe('coverage');
    expect(error.message).toBe(
      `A scope has no active CA that is valid now. project proj_alpha: read back, it lists no active certificate. The action activated ${id} there again.`,
    );
    expect(error.hint).toMatch(/activate a valid CA there/);
    expect(emu.activeIn('proj_alpha')).toEqual([id]);
    // Activated again, but not claimed: only a read says where it is active.
    expect(journal.activeIn.has('proj_alpha')).toBe(false);
  });

  it('a scope whose new certificate was deactivated by someone else after the retirement: activated again, and the run fails', async () => {
    const old = emu.addCertificate(previous.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    // Reads of proj_alpha after the writes: the first is the read before retiring, the second the coverage
    // read; just before the second, someone deactivates the new certificate there.
    let reads = 0;
    const racing = Object.create(api) as CertificateApi;
    racing.listScope = async (scope) => {
      if (scope === 'proj_alpha' && journal.activated.includes('proj_alpha') && ++reads === 2)
        emu.certificates.find((c) => c.id === journal.certificate?.id)!.activeProjects.delete('proj_alpha');
      return api.listScope(scope);
    };
    const made = await plan(fresh.pem, { name: 'corp', activateProjects: ['proj_alpha'], retirePrevious: true });
    const error = (await apply(made, context(fresh.pem, 'corp', racing)).catch((e: unknown) => e)) as ActionError;
    const id = journal.certificate!.id;
    expect(journal.retired).toEqual([{ scope: 'proj_alpha', id: old.id }]);
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /^A scope has no active CA that is valid now\. project proj_alpha: read back, it lists no active certificate\./,
    );
    expect(error.message).toContain(`The action activated ${id} there again.`);
    expect(emu.activeIn('proj_alpha')).toEqual([id]);
  });

  it('an active CA that is not valid now does not cover the scope: the run fails, and says its dates', async () => {
    const error = (await planAndApply(notYet.pem, { activateProjects: ['proj_alpha'] }).catch((e: unknown) => e)) as ActionError;
    const id = journal.certificate!.id;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      new RegExp(
        `^A scope has no active CA that is valid now\\. project proj_alpha: read back, it lists ${id} \\("corp"\\) \\(valid \\d{4}-`,
      ),
    );
    // It is active already: not activated again.
    expect(error.message).not.toMatch(/activated .* there again/);
  });
});

describe('apply: deleting expired certificates', () => {
  it('after the activations: deletes, says so, skips one gone since the plan, and keeps one the API says is in use', async () => {
    const [goneCa, deletedCa, inUseCa] = expired;
    const gone = emu.addCertificate(goneCa!.pem, { name: 'gone', skipValidation: true });
    const deleted = emu.addCertificate(deletedCa!.pem, { skipValidation: true });
    const inUse = emu.addCertificate(inUseCa!.pem, { name: 'used', skipValidation: true });
    const made = await planAndApply(fresh.pem, { deleteExpired: true, activateProjects: ['proj_alpha'] }, () => {
      emu.certificates.splice(emu.certificates.indexOf(gone), 1);
      inUse.activeProjects.add('proj_gamma'); // since the plan read every project
    });
    expect(made.deleteFirst).toEqual([]);
    expect(made.deleteAfter.map((c) => c.id).sort()).toEqual([gone.id, deleted.id, inUse.id].sort());
    expect(journal.deleted).toEqual([deleted.id]);
    expect(journal.keptInUse).toEqual([inUse.id]);
    const activate = emu.requests.findIndex((r) => r.path.endsWith('/activate'));
    const firstDelete = emu.requests.findIndex((r) => r.method === 'DELETE');
    expect(firstDelete).toBeGreaterThan(activate);
    expect(log.infos).toContain(`${gone.id} was already gone: deleted by someone else since the plan.`);
    expect(log.infos).toContain(`Deleted ${deleted.id}: expired and inactive.`);
    expect(log.notices).toEqual([
      `Kept ${inUse.id} ("used"): it has expired, but OpenAI reports it still active in a project (certificate_in_use). Deactivate it there to let it be deleted.`,
    ]);
    expect(log.titles).toEqual(['notice: delete-expired']);
    expect(emu.certificates.map((c) => c.id)).toContain(inUse.id);
  });

  it('keeps one that is active again when read before the deletion', async () => {
    const stale = emu.addCertificate(expired[3]!.pem, { name: 'stale', skipValidation: true });
    await planAndApply(fresh.pem, { deleteExpired: true }, () => {
      stale.activeOrg = true;
    });
    expect(journal.deleted).toEqual([]);
    expect(emu.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(log.infos).toContain(`Kept ${stale.id} ("stale"): read again, it is no longer expired and inactive.`);
  });

  it('at the cap, deletes first to make room, and says why', async () => {
    const stale = emu.addCertificate(expired[3]!.pem, { name: 'stale', skipValidation: true });
    for (let i = 0; i < 49; i++) emu.addCertificate(filler.pem);
    const made = await planAndApply(fresh.pem, { deleteExpired: true });
    expect(made.deleteFirst.map((c) => c.id)).toEqual([stale.id]);
    expect(journal.deleted).toEqual([stale.id]);
    expect(writes()[0]).toBe(`DELETE /certificates/${stale.id} ""`);
    expect(log.infos).toContain(`Deleted ${stale.id} ("stale"): to make room under the 50-certificate cap.`);
  });

  it('any other refusal of a deletion fails the run', async () => {
    const stale = emu.addCertificate(expired[3]!.pem, { skipValidation: true });
    const made = await plan(other.pem, { deleteExpired: true });
    expect(made.deleteAfter.map((c) => c.id)).toEqual([stale.id]);
    emu.addFault({ kind: 'status', status: 400, method: 'DELETE', code: 'invalid_request', message: 'No.' });
    const error = await apply(made, context(other.pem, 'corp')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(new RegExp(`delete certificate ${stale.id}`));
    expect(journal.deleted).toEqual([]);
    expect(journal.keptInUse).toEqual([]);
  });
});

describe("apply: the API's dates against the certificate's own", () => {
  it('warns when they differ by more than a second; a second apart is not a difference', async () => {
    const stored = emu.addCertificate(fresh.pem, { name: 'corp' });
    const read = await api.retrieve(stored.id);
    const cases: Array<[StoredCertificate, string[]]> = [
      [read, []],
      [{ ...read, validAt: read.validAt! + 1, expiresAt: read.expiresAt! - 1 }, []],
      [{ ...read, validAt: read.validAt! - 2 }, ['dates']],
      [{ ...read, expiresAt: read.expiresAt! + 2 }, ['dates']],
    ];
    for (const [existing, titles] of cases) {
      advised.length = 0;
      log.clear();
      await apply(await plan(fresh.pem, {}, existing), context(fresh.pem, 'corp'));
      expect(
        advised.map((a) => `${a.level} ${a.title}`),
        JSON.stringify(existing),
      ).toEqual(titles.map((t) => `warning ${t}`));
      expect(notices().filter((n) => !n.startsWith('warning'))).toEqual([]);
    }
    expect(advised[0]!.message).toMatch(
      new RegExp(`^The API's dates for ${stored.id} \\(valid .* to .*\\) differ from the certificate's own`),
    );
  });

  it('a notice, not a warning, when the API gives no validity dates (either one)', async () => {
    const stored = emu.addCertificate(fresh.pem, { name: 'corp' });
    const read = await api.retrieve(stored.id);
    for (const existing of [
      { ...read, validAt: null },
      { ...read, expiresAt: null },
    ]) {
      advised.length = 0;
      log.clear();
      await apply(await plan(fresh.pem, {}, existing), context(fresh.pem, 'corp'));
      expect(advised).toEqual([]);
      expect(log.notices).toEqual([`The API gives no validity dates for ${stored.id}: the outputs report the certificate's own dates.`]);
      expect(log.titles).toEqual(['notice: dates']);
    }
  });
});

describe('apply: a staged rollout', () => {
  it('a plan with a canary project goes through the staged flow: without canary inputs it refuses before activating anything', async () => {
    const made = { ...(await plan(fresh.pem, { activateProjects: ['proj_alpha', 'proj_beta'] })), canaryProject: 'proj_alpha' };
    emu.requests.length = 0;
    const error = (await apply(made, context(fresh.pem, 'corp')).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.title).toBe('canary');
    expect(writes().filter((w) => w.includes('/activate'))).toEqual([]);
    expect(journal.activated).toEqual([]);
  });
});

describe('apply: what the reads just before retiring show', () => {
  it('does not retire while the new certificate is not valid yet by the API, and says so', async () => {
    const old = emu.addCertificate(previous.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    // The previous CA, still active and valid, covers the scope: the run succeeds.
    await planAndApply(notYet.pem, { activateProjects: ['proj_alpha'], retirePrevious: true });
    const id = journal.certificate!.id;
    expect(journal.retired).toEqual([]);
    expect(writes().filter((w) => w.includes('/deactivate'))).toEqual([]);
    expect(log.infos).toContain(
      `Nothing retired in project proj_alpha: ${id} is not valid now by the API's dates, so the previous CA stays active.`,
    );
    expect(emu.activeIn('proj_alpha').sort()).toEqual([old.id, id].sort());
  });

  it("a racing run's identical copy, active in the scope since the plan, is never retired: the run moves to it if it is older", async () => {
    const old = emu.addCertificate(previous.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    // Right before this run reads proj_alpha to retire, a racing run's copy (stored earlier in the same
    // validity, so older by created_at) shows up active there, under the same name.
    let racer: { id: string } | undefined;
    const racing = Object.create(api) as CertificateApi;
    racing.listScope = async (scope) => {
      if (scope === 'proj_alpha' && journal.activated.includes('proj_alpha') && !racer)
        racer = emu.addCertificate(fresh.pem, {
          name: 'corp',
          activeProjects: ['proj_alpha'],
          createdAt: Math.floor(Date.now() / 1000) - 30,
        });
      return api.listScope(scope);
    };
    const made = await plan(fresh.pem, { name: 'corp', activateProjects: ['proj_alpha'], retirePrevious: true });
    await apply(made, context(fresh.pem, 'corp', racing));
    const deactivated = writes().filter((w) => w.includes('/deactivate'));
    expect(deactivated[0]).toBe(`POST /projects/proj_alpha/certificates/deactivate {"certificate_ids":["${old.id}"]}`);
    expect(deactivated.join(' ')).not.toContain(racer!.id);
    expect(journal.retired).toEqual([{ scope: 'proj_alpha', id: old.id }]);
    // The oldest copy is kept: this run goes on with the racer's, and deletes its own once it is inactive.
    expect(journal).toMatchObject({ uploaded: false, certificate: { id: racer!.id } });
    expect(emu.activeIn('proj_alpha')).toEqual([racer!.id]);
    expect(emu.certificates.map((c) => c.id).sort()).toEqual([old.id, racer!.id].sort());
    expect(journal.duplicates).toHaveLength(1);
    expect(journal.activeIn.has('proj_alpha')).toBe(true);
  });
});

describe('apply: a copy deleted by a racing run while this run activates it', () => {
  /** An API on which this run's fresh copy is deleted right before its first project activation, and `then` runs. */
  const deletedBeforeProject = (then: () => void): CertificateApi => {
    const racing = Object.create(api) as CertificateApi;
    let done = false;
    racing.activate = async (scope, ids, options) => {
      if (scope !== 'organization' && !done) {
        done = true;
        emu.certificates.splice(
          emu.certificates.findIndex((c) => c.id === ids[0]),
          1,
        );
        then();
      }
      return api.activate(scope, ids, options);
    };
    return racing;
  };

  it('goes on with the older identical copy the racing run keeps, activated in every scope, and does not claim it', async () => {
    let racer: { id: string } | undefined;
    const racing = deletedBeforeProject(() => {
      racer = emu.addCertificate(fresh.pem, { name: 'corp', createdAt: Math.floor(Date.now() / 1000) - 5 });
    });
    const made = await plan(fresh.pem, { name: 'corp', activateOrganization: true, activateProjects: ['proj_alpha'] });
    log.clear();
    await apply(made, context(fresh.pem, 'corp', racing));
    const own = emu.requests.find((r) => r.method === 'POST' && r.path.endsWith('/organization/certificates'));
    expect(own).toBeDefined();
    expect(journal).toMatchObject({ uploaded: false, certificate: { id: racer!.id } });
    expect(journal.activated).toEqual(['organization', 'proj_alpha']);
    expect(emu.activeIn('organization')).toEqual([racer!.id]);
    expect(emu.activeIn('proj_alpha')).toEqual([racer!.id]);
    expect(log.infos.some((l) => l.endsWith(`keeps the older identical copy ${racer!.id}: this run goes on with it.`))).toBe(true);
  });

  it('with no other copy to go on with, the refusal stands', async () => {
    const racing = deletedBeforeProject(() => undefined);
    const made = await plan(fresh.pem, { name: 'corp', activateOrganization: true, activateProjects: ['proj_alpha'] });
    const error = await apply(made, context(fresh.pem, 'corp', racing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('not-found');
    expect(journal.uploaded).toBe(true);
  });

  it('a certificate named by certificate-id that is deleted meanwhile is not replaced by a copy: the refusal stands', async () => {
    const stored = emu.addCertificate(fresh.pem, { name: 'corp' });
    const existing = await api.retrieve(stored.id);
    const racing = deletedBeforeProject(() => {
      emu.addCertificate(fresh.pem, { name: 'corp', createdAt: Math.floor(Date.now() / 1000) - 5 });
    });
    const made = await plan(fresh.pem, { activateOrganization: true, activateProjects: ['proj_alpha'] }, existing);
    const error = await apply(made, context(fresh.pem, 'corp', racing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(journal.certificate!.id).toBe(stored.id);
  });
});

describe('apply: the last reads, after retiring for the organization', () => {
  const mtlsRequired = { kind: 'status', status: 403, code: 'mtls_required', message: 'A client certificate is required.' } as const;
  /** An API on which, once a retirement for `retiredIn` is done, reads of `refused` need a client certificate. */
  const lockingAfterRetirement = (retiredIn: string, refused: RegExp): CertificateApi => {
    const locking = Object.create(api) as CertificateApi;
    locking.deactivate = async (scope, ids, options) => {
      const done = await api.deactivate(scope, ids, options);
      if (scope === retiredIn) emu.addFault({ ...mtlsRequired, method: 'GET', path: refused, times: Infinity });
      return done;
    };
    return locking;
  };
  const contextWithCautions = (target: CertificateApi): ApplyContext => ({
    ...context(fresh.pem, 'corp', target),
    advise: (advisory) => {
      advised.push(advisory);
      if (advisory.level === 'warning') journal.cautions.push(advisory.message);
    },
  });

  it('reads of projects refused for want of a client certificate: one warning, and the run ends', async () => {
    const old = emu.addCertificate(previous.pem, { name: 'corp', activeOrg: true });
    const made = await plan(fresh.pem, { activateOrganization: true, activateProjects: ['proj_alpha', 'proj_beta'], retirePrevious: true });
    await apply(made, contextWithCautions(lockingAfterRetirement('organization', /\/projects\/proj_\w+\/certificates$/)));
    expect(journal.retired).toEqual([{ scope: 'organization', id: old.id }]);
    expect(advised.map((a) => `${a.level} ${a.title}`)).toEqual(['warning client-certificate']);
    expect(advised[0]!.message).toMatch(
      /^The action could not read back after retiring for the organization: OpenAI now refuses the client certificate this run presented \(/,
    );
  });

  it('the read of the organization refused: the same warning, and the run ends with its certificate', async () => {
    emu.addCertificate(previous.pem, { name: 'corp', activeOrg: true });
    const made = await plan(fresh.pem, { activateOrganization: true, retirePrevious: true });
    await apply(made, contextWithCautions(lockingAfterRetirement('organization', /\/organization\/certificates$/)));
    expect(advised.map((a) => `${a.level} ${a.title}`)).toEqual(['warning client-certificate']);
    expect(journal.certificate).toBeDefined();
  });

  it('after retiring only in a project, a refused read is a failure', async () => {
    emu.addCertificate(previous.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    const made = await plan(fresh.pem, { activateProjects: ['proj_alpha'], retirePrevious: true });
    const error = await apply(made, contextWithCautions(lockingAfterRetirement('proj_alpha', /\/proj_alpha\/certificates$/))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('mtls-required');
    expect(advised).toEqual([]);
  });

  it('any other failure of those reads fails the run', async () => {
    emu.addCertificate(previous.pem, { name: 'corp', activeOrg: true });
    const failing = Object.create(api) as CertificateApi;
    failing.deactivate = async (scope, ids, options) => {
      const done = await api.deactivate(scope, ids, options);
      emu.addFault({ kind: 'status', status: 403, code: 'insufficient_permissions', message: 'No.', method: 'GET', times: Infinity });
      return done;
    };
    const made = await plan(fresh.pem, { activateOrganization: true, retirePrevious: true });
    const error = await apply(made, contextWithCautions(failing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('permission');
  });
});

describe('apply: a scope read back without the certificate', () => {
  /** An API on which, at the first read of proj_alpha after the activation there, `change` has happened. */
  const changedAtReadBack = (change: () => void): CertificateApi => {
    const racing = Object.create(api) as CertificateApi;
    let done = false;
    racing.listScope = async (scope) => {
      if (scope === 'proj_alpha' && journal.activated.includes('proj_alpha') && !done) {
        done = true;
        change();
      }
      return api.listScope(scope);
    };
    return racing;
  };

  it('replaced there by a newer CA of the same name: a notice, and nothing activated again', async () => {
    let newer: { id: string } | undefined;
    const racing = changedAtReadBack(() => {
      emu.certificates.find((c) => c.id === journal.certificate?.id)!.activeProjects.delete('proj_alpha');
      newer = emu.addCertificate(fresh.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    });
    const made = await plan(previous.pem, { name: 'corp', activateProjects: ['proj_alpha'] });
    await apply(made, context(previous.pem, 'corp', racing));
    const id = journal.certificate!.id;
    expect(emu.activeIn('proj_alpha')).toEqual([newer!.id]);
    expect(journal.activeIn.has('proj_alpha')).toBe(false);
    expect(log.titles).toEqual(['notice: coverage']);
    expect(log.notices).toEqual([
      expect.stringMatching(
        new RegExp(`^${id} is no longer active for project proj_alpha: a newer CA of the same name replaced it there \\(`),
      ),
    ]);
  });

  it('by a newer CA of another name, or an older one of the same name: activated again, and the run fails', async () => {
    for (const [pem, name] of [
      [fresh.pem, 'other'],
      [oldest.pem, 'corp'],
    ] as const) {
      const racing = changedAtReadBack(() => {
        emu.certificates.find((c) => c.id === journal.certificate?.id)!.activeProjects.delete('proj_alpha');
        emu.addCertificate(pem, { name, activeProjects: ['proj_alpha'] });
      });
      journal = new Journal();
      const made = await plan(previous.pem, { name: 'corp', activateProjects: ['proj_alpha'] });
      const error = (await apply(made, context(previous.pem, 'corp', racing)).catch((e: unknown) => e)) as ActionError;
      expect(error, name).toBeInstanceOf(ActionError);
      expect(error.message).toMatch(/^The API accepted an activation that a scope does not hold\./);
      expect(emu.activeIn('proj_alpha')).toContain(journal.certificate!.id);
      emu.certificates.length = 0;
    }
  });
});

describe('apply: deletions read again first', () => {
  it('an expired certificate deleted by someone else between the read and the deletion: said, not counted as deleted', async () => {
    const stale = emu.addCertificate(expired[3]!.pem, { name: 'stale', skipValidation: true });
    const racing = Object.create(api) as CertificateApi;
    racing.delete = async (id, options) => {
      emu.certificates.splice(
        emu.certificates.findIndex((c) => c.id === id),
        1,
      );
      return api.delete(id, options);
    };
    const made = await plan(fresh.pem, { deleteExpired: true });
    log.clear();
    await apply(made, context(fresh.pem, 'corp', racing));
    expect(journal.deleted).toEqual([]);
    expect(log.infos).toContain(`${stale.id} ("stale") was already gone: deleted by someone else since the plan.`);
    expect(log.infos.some((l) => l.startsWith('Deleted'))).toBe(false);
  });

  it('identical copies from earlier runs: the inactive ones are deleted, one active again since the plan is kept', async () => {
    const t = Math.floor(Date.now() / 1000);
    const kept = emu.addCertificate(fresh.pem, { name: 'corp', createdAt: t - 30 });
    const inactive = emu.addCertificate(fresh.pem, { name: 'corp', createdAt: t - 20 });
    const activeAgain = emu.addCertificate(fresh.pem, { name: 'corp', createdAt: t - 10 });
    const made = await planAndApply(fresh.pem, {}, (p) => {
      expect(p.duplicates.map((c) => c.id).sort()).toEqual([inactive.id, activeAgain.id].sort());
      activeAgain.activeOrg = true;
    });
    expect(made.target).toMatchObject({ kind: 'reuse', certificate: { id: kept.id } });
    expect(journal.duplicates).toEqual([inactive.id]);
    expect(emu.certificates.map((c) => c.id).sort()).toEqual([kept.id, activeAgain.id].sort());
  });
});
