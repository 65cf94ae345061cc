/**
 * applyPlan on its own, against the emulator through the SDK: what it writes, in what order, what it
 * records in the outcome and what it says (log lines and notices), for each kind of target and cleanup.
 */
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.js';
import { decodeInput } from '../../src/certificate/decode.js';
import { inspectCertificate } from '../../src/certificate/inspect.js';
import { ActionError } from '../../src/errors.js';
import type { Settings } from '../../src/inputs/settings.js';
import { applyPlan, emptyOutcome, type ApplyOptions, type Outcome } from '../../src/rotation/apply.js';
import { makePlan, type Plan } from '../../src/rotation/plan.js';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa } from '../helpers/certs.ts';
import { settingsFor } from '../helpers/settings.ts';

const DAY = 86_400_000;
let emu: Emulator;
let api: CertificateApi;
let logs: string[];
let notices: string[];
beforeEach(async () => {
  emu = await startEmulator();
  api = new CertificateApi(
    new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL: emu.baseURL, maxRetries: 0, logLevel: 'off' }),
    emu.baseURL,
  );
  logs = [];
  notices = [];
});
afterEach(() => emu.close());

const settings = (overrides: Partial<Settings> = {}): Settings => settingsFor(emu.baseURL, overrides);
const info = (pem: string) => inspectCertificate(decodeInput(pem).blocks[0]!.der);
const options = (name: string | undefined): ApplyOptions => ({
  retry: { maxRetries: 0, sleep: async () => undefined, random: () => 0.5, log: (line) => void logs.push(line), now: Date.now },
  log: (line) => void logs.push(line),
  notice: (line) => void notices.push(line),
  warning: (line) => void notices.push(`warning: ${line}`),
  name,
});
const writes = (): string[] =>
  emu.requests
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path.replace('/v1/organization', '')} ${JSON.stringify(r.body ?? '')}`);
const expired = (cn: string) => makeDatedCa(new Date(Date.now() - 100 * DAY), new Date(Date.now() - DAY), cn);

async function planAndApply(
  pem: string,
  overrides: Partial<Settings> = {},
  between?: (plan: Plan) => void,
  asked: string | null = 'corp',
): Promise<{ plan: Plan; outcome: Outcome }> {
  const name = asked ?? undefined;
  const plan = await makePlan(api, settings({ name, ...overrides }), info(pem), undefined, new Date());
  between?.(plan);
  emu.requests.length = 0;
  const outcome = emptyOutcome();
  await applyPlan(api, plan, info(pem), options(name), outcome);
  return { plan, outcome };
}

describe('emptyOutcome', () => {
  it('is empty: nothing uploaded, activated, retired or deleted', () => {
    expect(emptyOutcome()).toEqual({
      certificate: undefined,
      uploaded: false,
      duplicates: [],
      activeIn: [],
      activated: [],
      retired: [],
      deleted: [],
      keptInUse: [],
    });
  });
});

describe('applyPlan: the target', () => {
  it('an upload: activates the new certificate for the organization first, then in each project, once each', async () => {
    const ca = makeCa({ cn: 'New' });
    const { outcome } = await planAndApply(ca.pem, { activateOrganization: true, activateProjects: ['proj_alpha', 'proj_beta'] });
    const id = outcome.certificate!.id;
    expect(outcome).toMatchObject({ uploaded: true, duplicates: [], retired: [], deleted: [], keptInUse: [] });
    expect(outcome.activated).toEqual(['organization', 'proj_alpha', 'proj_beta']);
    expect(outcome.activeIn).toEqual(['organization', 'proj_alpha', 'proj_beta']);
    expect(writes()).toEqual([
      `POST /certificates ${JSON.stringify({ certificate: ca.pem, name: 'corp' })}`,
      `POST /certificates/activate {"certificate_ids":["${id}"]}`,
      `POST /projects/proj_alpha/certificates/activate {"certificate_ids":["${id}"]}`,
      `POST /projects/proj_beta/certificates/activate {"certificate_ids":["${id}"]}`,
    ]);
    expect(logs).toEqual(
      expect.arrayContaining([
        `Activated ${id} for the organization.`,
        `Activated ${id} for project proj_alpha.`,
        `Activated ${id} for project proj_beta.`,
      ]),
    );
    expect(notices).toEqual([]);
  });

  it('reuse-existing false with an older identical certificate: uploads and keeps its own copy, not the older one', async () => {
    const ca = makeCa();
    const older = emu.addCertificate(ca.pem, { name: 'old', createdAt: Math.floor(Date.now() / 1000) - 60 });
    const { outcome } = await planAndApply(ca.pem, { reuseExisting: false });
    expect(outcome.uploaded).toBe(true);
    expect(outcome.certificate!.id).not.toBe(older.id);
    expect(outcome.duplicates).toEqual([]);
    expect(emu.certificates).toHaveLength(2);
    expect(emu.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('a reused certificate: nothing uploaded, activated where it is not active yet, and said so where it is', async () => {
    const ca = makeCa();
    const same = emu.addCertificate(ca.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    const { outcome } = await planAndApply(ca.pem, { activateProjects: ['proj_alpha', 'proj_beta'] });
    expect(outcome).toMatchObject({ uploaded: false, certificate: { id: same.id } });
    expect(outcome.activated).toEqual(['proj_beta']);
    expect(outcome.activeIn).toEqual(['proj_alpha', 'proj_beta']);
    expect(writes()).toEqual([`POST /projects/proj_beta/certificates/activate {"certificate_ids":["${same.id}"]}`]);
    expect(logs).toContain(`The organization already holds this certificate as ${same.id}: reused, not uploaded again.`);
    expect(logs).toContain(`${same.id} was already active for project proj_alpha.`);
    expect(notices).toEqual([]);
  });

  it('a reused certificate under another name keeps it, and a notice says so; with no name asked, nothing is said', async () => {
    const ca = makeCa();
    const named = emu.addCertificate(ca.pem, { name: 'corp-2026' });
    await planAndApply(ca.pem, {}, undefined, 'corp-2027');
    expect(notices).toEqual([
      `${named.id} keeps its name "corp-2026"; the name "corp-2027" was not applied. Rename it in the dashboard if you want the new name, or set reuse-existing: false to upload a copy under the new name.`,
    ]);
    notices = [];
    await planAndApply(ca.pem, {}, undefined, null);
    expect(notices).toEqual([]);
    named.name = null;
    await planAndApply(ca.pem, {}, undefined, 'corp-2027');
    expect(notices).toEqual([
      expect.stringMatching(new RegExp(`^${named.id} keeps its name \\(none\\); the name "corp-2027" was not applied\\.`)),
    ]);
  });

  it('an existing target (certificate-id): nothing uploaded or reused, activated where needed', async () => {
    const ca = makeCa();
    const stored = emu.addCertificate(ca.pem, { name: 'other' });
    const existing = await api.retrieve(stored.id, true);
    const plan = await makePlan(api, settings({ activateProjects: ['proj_alpha'] }), info(ca.pem), existing, new Date());
    emu.requests.length = 0;
    const outcome = emptyOutcome();
    await applyPlan(api, plan, info(ca.pem), options('corp'), outcome);
    expect(outcome).toMatchObject({ uploaded: false, certificate: { id: stored.id }, activated: ['proj_alpha'] });
    expect(writes()).toEqual([`POST /projects/proj_alpha/certificates/activate {"certificate_ids":["${stored.id}"]}`]);
    expect(logs.some((l) => l.includes('reused'))).toBe(false);
    expect(notices).toEqual([]);
  });

  it("a racing run's older identical copy, stored with another name: kept, this run's copy deleted, and the name said", async () => {
    const ca = makeCa();
    const { outcome } = await planAndApply(ca.pem, { activateProjects: ['proj_alpha'] }, () => {
      emu.addCertificate(ca.pem, { name: 'raced', createdAt: Math.floor(Date.now() / 1000) - 5 });
    });
    const racer = emu.certificates.find((c) => c.name === 'raced')!;
    expect(outcome.uploaded).toBe(false);
    expect(outcome.certificate!.id).toBe(racer.id);
    expect(outcome.duplicates).toHaveLength(1);
    expect(outcome.duplicates[0]).not.toBe(racer.id);
    expect(emu.certificates.map((c) => c.id)).toEqual([racer.id]);
    expect(emu.activeIn('proj_alpha')).toEqual([racer.id]);
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^${racer.id} keeps its name "raced"; the name "corp" was not applied`))]);
  });

  it("after a lost answer, an identical copy that appeared since the plan is this run's upload: no notice about its name", async () => {
    const ca = makeCa();
    emu.addFault({ kind: 'drop-after', method: 'POST', path: '/organization/certificates' });
    const { outcome } = await planAndApply(ca.pem, {}, () => {
      emu.addCertificate(ca.pem, { name: 'raced', createdAt: Math.floor(Date.now() / 1000) - 5 });
    });
    expect(outcome.uploaded).toBe(true);
    expect(outcome.certificate!.name).toBe('raced');
    expect(notices).toEqual([]);
  });
});

describe('applyPlan: retiring', () => {
  it('retires only in the scopes that have something to retire, and says so', async () => {
    const old = emu.addCertificate(makeCa({ cn: 'Old', days: 100 }).pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    const ca = makeCa({ cn: 'New' });
    const { outcome } = await planAndApply(ca.pem, { activateProjects: ['proj_alpha', 'proj_beta'], retirePrevious: true });
    const id = outcome.certificate!.id;
    expect(outcome.retired).toEqual([{ scope: 'proj_alpha', id: old.id }]);
    expect(writes().filter((w) => w.includes('/deactivate'))).toEqual([
      `POST /projects/proj_alpha/certificates/deactivate {"certificate_ids":["${old.id}"]}`,
    ]);
    expect(logs.filter((l) => l.startsWith('Retired'))).toEqual([
      `Retired ${old.id} for project proj_alpha (same name "corp", replaced by ${id}).`,
    ]);
  });
});

describe('applyPlan: deleting expired certificates', () => {
  it('after the activations: deletes, says so, skips one gone since the plan, and keeps one the API says is in use', async () => {
    const gone = emu.addCertificate((await expired('Gone')).pem, { name: 'gone', skipValidation: true });
    const deleted = emu.addCertificate((await expired('Deleted')).pem, { skipValidation: true });
    const inUse = emu.addCertificate((await expired('In use')).pem, { name: 'used', skipValidation: true });
    const ca = makeCa({ cn: 'New' });
    const { plan, outcome } = await planAndApply(ca.pem, { deleteExpired: true, activateProjects: ['proj_alpha'] }, () => {
      emu.certificates.splice(emu.certificates.indexOf(gone), 1);
      inUse.activeProjects.add('proj_gamma'); // in a project the plan did not read
    });
    expect(plan.deleteFirst).toEqual([]);
    expect(plan.deleteAfter.map((c) => c.id)).toEqual([gone.id, deleted.id, inUse.id]);
    expect(outcome.deleted).toEqual([deleted.id]);
    expect(outcome.keptInUse).toEqual([inUse.id]);
    const activate = emu.requests.findIndex((r) => r.path.endsWith('/activate'));
    const firstDelete = emu.requests.findIndex((r) => r.method === 'DELETE');
    expect(firstDelete).toBeGreaterThan(activate);
    expect(logs).toContain(`${gone.id} ("gone") was already gone: deleted by someone else since the plan.`);
    expect(logs).toContain(`Deleted ${deleted.id}: expired and inactive.`);
    expect(notices).toEqual([
      `Kept ${inUse.id} ("used"): it has expired, but OpenAI reports it still active in a project (certificate_in_use). Deactivate it there to let it be deleted.`,
    ]);
    expect(emu.certificates.map((c) => c.id)).toContain(inUse.id);
  });

  it('at the cap, deletes first to make room, and says why', async () => {
    const filler = makeCa({ cn: 'Filler', days: 200 }).pem;
    const stale = emu.addCertificate((await expired('Stale')).pem, { name: 'stale', skipValidation: true });
    for (let i = 0; i < 49; i++) emu.addCertificate(filler);
    const { plan, outcome } = await planAndApply(makeCa({ cn: 'New' }).pem, { deleteExpired: true });
    expect(plan.deleteFirst.map((c) => c.id)).toEqual([stale.id]);
    expect(outcome.deleted).toEqual([stale.id]);
    expect(writes()[0]).toBe(`DELETE /certificates/${stale.id} ""`);
    expect(logs).toContain(`Deleted ${stale.id} ("stale"): to make room under the 50-certificate cap.`);
  });

  it('any other refusal of a deletion fails the run', async () => {
    const stale = emu.addCertificate((await expired('Stale')).pem, { skipValidation: true });
    const plan = await makePlan(api, settings({ deleteExpired: true }), info(makeCa().pem), undefined, new Date());
    expect(plan.deleteAfter.map((c) => c.id)).toEqual([stale.id]);
    emu.addFault({ kind: 'status', status: 400, method: 'DELETE', code: 'invalid_request', message: 'No.' });
    const outcome = emptyOutcome();
    const error = await applyPlan(api, plan, info(makeCa().pem), options('corp'), outcome).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toMatch(new RegExp(`delete certificate ${stale.id}`));
    expect(outcome.deleted).toEqual([]);
    expect(outcome.keptInUse).toEqual([]);
  });
});
