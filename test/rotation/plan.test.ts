import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.js';
import { applyPlan, emptyOutcome } from '../../src/rotation/apply.js';
import { decodeInput } from '../../src/certificate/decode.js';
import { inspectCertificate } from '../../src/certificate/inspect.js';
import type { Settings } from '../../src/inputs/settings.js';
import { lockoutCaution, makePlan } from '../../src/rotation/plan.js';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa } from '../helpers/certs.ts';
import { ActionError } from '../../src/errors.js';
import { settingsFor } from '../helpers/settings.ts';

let emu: Emulator;
let api: CertificateApi;
beforeEach(async () => {
  emu = await startEmulator();
  api = new CertificateApi(
    new OpenAI({ adminAPIKey: 'sk-admin-emulator-test-key', apiKey: null, baseURL: emu.baseURL, maxRetries: 0, logLevel: 'off' }),
    emu.baseURL,
  );
});
afterEach(() => emu.close());

const settings = (overrides: Partial<Settings> = {}): Settings => settingsFor(emu.baseURL, overrides);
const info = (pem: string) => inspectCertificate(decodeInput(pem).blocks[0]!.der);
const options = {
  retry: { maxRetries: 0, sleep: async () => undefined, random: () => 0.5, log: () => undefined, now: Date.now },
  log: () => undefined,
  notice: () => undefined,
  warning: () => undefined,
  name: 'corp',
};

describe('makePlan', () => {
  it('reads only: one organization list and one list per project, then decides', async () => {
    const old = emu.addCertificate(makeCa({ cn: 'Old' }).pem, { name: 'corp', activeOrg: true, activeProjects: ['proj_alpha'] });
    const other = emu.addCertificate(makeCa({ cn: 'Other' }).pem, { name: 'other', activeOrg: true });
    const plan = await makePlan(
      api,
      settings({ activateOrganization: true, activateProjects: ['proj_alpha', 'proj_beta'], retirePrevious: true }),
      info(makeCa().pem),
      undefined,
      new Date(),
    );
    expect(emu.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(emu.requests.filter((r) => r.path.endsWith('/certificates'))).toHaveLength(3);
    // The others are content reads of candidates made in the same second (same validity), ruled out by fingerprint.
    expect(emu.requests.filter((r) => !r.path.endsWith('/certificates')).every((r) => r.query['include[]'] === 'content')).toBe(true);
    expect(plan.target).toEqual({ kind: 'upload' });
    expect(plan.scopes.map((s) => [s.scope, s.activate, s.retire.map((c) => c.id), s.activeBefore.map((c) => c.id).sort()])).toEqual([
      ['organization', true, [old.id], [old.id, other.id].sort()],
      ['proj_alpha', true, [old.id], [old.id]],
      ['proj_beta', true, [], []],
    ]);
  });

  it('finds an identical certificate to reuse, checking content only for candidates with the same validity', async () => {
    const ca = makeCa();
    emu.addCertificate(makeCa({ cn: 'Decoy', days: 100 }).pem);
    const same = emu.addCertificate(ca.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    const plan = await makePlan(api, settings({ activateProjects: ['proj_alpha'] }), info(ca.pem), undefined, new Date());
    expect(plan.target).toMatchObject({ kind: 'reuse', certificate: { id: same.id } });
    expect(plan.scopes[0]).toMatchObject({ scope: 'proj_alpha', activate: false });
    expect(emu.requests.filter((r) => r.path.includes('/certificates/cert_'))).toHaveLength(1);
  });

  it('refuses a 51st certificate, naming the cap, unless expired ones can be deleted first', async () => {
    const expired = await makeDatedCa(new Date(Date.now() - 100 * 86_400_000), new Date(Date.now() - 86_400_000));
    const filler = makeCa({ cn: 'Filler' }).pem;
    emu.addCertificate(expired.pem, { skipValidation: true });
    for (let i = 0; i < 49; i++) emu.addCertificate(filler);
    await expect(makePlan(api, settings(), info(makeCa().pem), undefined, new Date())).rejects.toThrow(/already holds 50 certificates/);
    const plan = await makePlan(api, settings({ deleteExpired: true }), info(makeCa().pem), undefined, new Date());
    expect(plan.deleteFirst.map((c) => c.validAt)).toHaveLength(1);
    expect(plan.deleteAfter).toEqual([]);
  });
});

describe('applyPlan', () => {
  it('activates in every scope before it retires anywhere, in calls of at most 10 ids', async () => {
    const olds = Array.from({ length: 12 }, (_, i) =>
      emu.addCertificate(makeCa({ cn: `Old ${i}` }).pem, { name: 'corp', activeProjects: ['proj_alpha'] }),
    );
    const ca = makeCa({ cn: 'New' });
    const s = settings({ activateProjects: ['proj_alpha', 'proj_beta'], retirePrevious: true });
    const plan = await makePlan(api, s, info(ca.pem), undefined, new Date());
    emu.requests.length = 0;
    const outcome = emptyOutcome();
    await applyPlan(api, plan, info(ca.pem), options, outcome);
    const calls = emu.requests.map((r) => `${r.method} ${r.path.replace('/v1/organization', '')}`);
    const lastActivation = Math.max(...calls.map((c, i) => (c.endsWith('/activate') ? i : -1)));
    const firstRetirement = calls.findIndex((c) => c.endsWith('/deactivate'));
    expect(firstRetirement).toBeGreaterThan(lastActivation);
    const deactivations = emu.requests.filter((r) => r.path.endsWith('/deactivate'));
    expect(deactivations.map((r) => (r.body as { certificate_ids: string[] }).certificate_ids.length)).toEqual([10, 2]);
    expect(outcome.retired.map((r) => r.id).sort()).toEqual(olds.map((o) => o.id).sort());
    expect(emu.activeIn('proj_alpha')).toEqual([outcome.certificate!.id]);
  });
});

describe('lockoutCaution', () => {
  it('warns for organization-level activation without a client certificate, and only then', () => {
    expect(lockoutCaution({ activateOrganization: true, clientCertificate: undefined })).toMatch(
      /^activate-organization is on and no client-certificate is given\. .* later runs of this action .* will need client-certificate and client-key/,
    );
    expect(lockoutCaution({ activateOrganization: true, clientCertificate: '-----BEGIN CERTIFICATE-----' })).toBeUndefined();
    expect(lockoutCaution({ activateOrganization: false, clientCertificate: undefined })).toBeUndefined();
  });
});

describe('makePlan: the target and what it retires', () => {
  it('an existing certificate (certificate-id) is the target as it is; retire-previous then matches its name', async () => {
    const ca = makeCa();
    const stored = emu.addCertificate(ca.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
    const old = emu.addCertificate(makeCa({ cn: 'Old', days: 100 }).pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] });
    const existing = await api.retrieve(stored.id, true);
    const plan = await makePlan(
      api,
      settings({ name: undefined, activateProjects: ['proj_alpha'], retirePrevious: true }),
      info(ca.pem),
      existing,
      new Date(),
    );
    expect(plan.target).toEqual({ kind: 'existing', certificate: existing });
    expect(plan.retireName).toBe('corp-ca');
    expect(plan.scopes).toEqual([
      expect.objectContaining({ scope: 'proj_alpha', activate: false, retire: [expect.objectContaining({ id: old.id })] }),
    ]);
  });

  it('an existing certificate without a name cannot be matched by retire-previous: refused, titled by the input', async () => {
    const ca = makeCa();
    const stored = emu.addCertificate(ca.pem);
    const existing = await api.retrieve(stored.id, true);
    const error = await makePlan(
      api,
      settings({ name: undefined, activateProjects: ['proj_alpha'], retirePrevious: true }),
      info(ca.pem),
      existing,
      new Date(),
    ).then(
      () => undefined,
      (e: unknown) => e as ActionError,
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error).toMatchObject({
      title: 'input retire-previous',
      message: `retire-previous is on, but certificate ${stored.id} has no name to match.`,
    });
  });

  it('an upload without a name has nothing for retire-previous to match: refused as an input error, not a crash', async () => {
    // readSettings refuses this combination first; makePlan still says it in words if it gets it.
    const error = await makePlan(
      api,
      settings({ name: undefined, activateProjects: ['proj_alpha'], retirePrevious: true }),
      info(makeCa().pem),
      undefined,
      new Date(),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error).toMatchObject({ title: 'input retire-previous' });
  });

  it('a reused target active under the same name is not retired, and nothing is retired when retire-previous is off', async () => {
    const ca = makeCa();
    const same = emu.addCertificate(ca.pem, { name: 'corp', activeOrg: true });
    const old = emu.addCertificate(makeCa({ cn: 'Old', days: 100 }).pem, { name: 'corp', activeOrg: true });
    const retiring = await makePlan(
      api,
      settings({ activateOrganization: true, retirePrevious: true }),
      info(ca.pem),
      undefined,
      new Date(),
    );
    expect(retiring.target).toMatchObject({ kind: 'reuse', certificate: { id: same.id } });
    expect(retiring.scopes.map((s) => [s.scope, s.activate, s.retire.map((c) => c.id)])).toEqual([['organization', false, [old.id]]]);
    const keeping = await makePlan(api, settings({ activateOrganization: true }), info(ca.pem), undefined, new Date());
    expect(keeping.retireName).toBeUndefined();
    expect(keeping.scopes.map((s) => s.retire)).toEqual([[]]);
    const nowhere = await makePlan(api, settings(), info(ca.pem), undefined, new Date());
    expect(nowhere.scopes).toEqual([]);
  });
});

describe('makePlan: what delete-expired may delete', () => {
  const expired = (cn: string, daysAgo = 1) =>
    makeDatedCa(new Date(Date.now() - 100 * 86_400_000), new Date(Date.now() - daysAgo * 86_400_000), cn);

  it('only certificates that have expired and are inactive in the organization and in every project listed', async () => {
    const free = emu.addCertificate((await expired('Free')).pem, { skipValidation: true });
    const inactiveInListed = emu.addCertificate((await expired('Inactive in the listed project')).pem, { skipValidation: true });
    const activeInOrg = emu.addCertificate((await expired('Active for the organization')).pem, { skipValidation: true, activeOrg: true });
    const activeInListed = emu.addCertificate((await expired('Active in proj_alpha')).pem, {
      skipValidation: true,
      activeProjects: ['proj_alpha'],
    });
    emu.addCertificate(makeCa({ cn: 'Valid', days: 100 }).pem);
    const plan = await makePlan(
      api,
      settings({ deleteExpired: true, activateProjects: ['proj_alpha', 'proj_beta'] }),
      info(makeCa().pem),
      undefined,
      new Date(),
    );
    expect(plan.deleteFirst).toEqual([]);
    expect(plan.deleteAfter.map((c) => c.id)).toEqual([free.id, inactiveInListed.id]);
    expect([activeInOrg.id, activeInListed.id].some((id) => plan.deleteAfter.some((c) => c.id === id))).toBe(false);
    const off = await makePlan(api, settings({ activateProjects: ['proj_alpha'] }), info(makeCa().pem), undefined, new Date());
    expect(off.deleteAfter).toEqual([]);
  });

  it('expired means expires_at at or before now, to the second; never the target, and never without an expiry', async () => {
    const ca = makeCa({ days: 30 });
    const target = emu.addCertificate(ca.pem, { name: 'corp' });
    const other = emu.addCertificate(makeCa({ cn: 'Other', days: 30 }).pem, { name: 'other' });
    // The plan's clock at the second the certificates expire: both have expired, the reused target is kept.
    const atExpiry = new Date(other.expires_at * 1000);
    const plan = await makePlan(api, settings({ deleteExpired: true }), info(ca.pem), undefined, atExpiry);
    expect(plan.target).toMatchObject({ kind: 'reuse', certificate: { id: target.id } });
    expect(plan.deleteAfter.map((c) => c.id)).toEqual([other.id]);
    const secondBefore = await makePlan(
      api,
      settings({ deleteExpired: true }),
      info(ca.pem),
      undefined,
      new Date(atExpiry.getTime() - 1000),
    );
    expect(secondBefore.deleteAfter).toEqual([]);
    emu.addFault({ kind: 'thin', method: 'GET', path: '/organization/certificates', omit: ['expires_at'] });
    const unknown = await makePlan(api, settings({ deleteExpired: true, reuseExisting: false }), info(ca.pem), undefined, atExpiry);
    expect(unknown.deleteAfter).toEqual([]);
  });

  it('at the cap: only an upload needs room; expired ones are deleted first; the error names the cap and what to do', async () => {
    const ca = makeCa();
    const filler = makeCa({ cn: 'Filler', days: 100 }).pem;
    for (let i = 0; i < 49; i++) emu.addCertificate(filler);
    const same = emu.addCertificate(ca.pem);
    const reused = await makePlan(api, settings({ deleteExpired: true }), info(ca.pem), undefined, new Date());
    expect(reused.target).toMatchObject({ kind: 'reuse', certificate: { id: same.id } });
    expect(reused.deleteFirst).toEqual([]);

    const full = (deleteExpired: boolean) =>
      makePlan(api, settings({ deleteExpired }), info(makeCa({ cn: 'New' }).pem), undefined, new Date()).then(
        () => undefined,
        (e: unknown) => e as ActionError,
      );
    const without = await full(false);
    expect(without).toBeInstanceOf(ActionError);
    expect(without).toMatchObject({
      title: 'certificate limit',
      message: 'The organization already holds 50 certificates, the most OpenAI allows (50); nothing was uploaded.',
      hint: expect.stringMatching(/set delete-expired: true/),
    });
    const withDelete = await full(true);
    expect(withDelete).toMatchObject({
      title: 'certificate limit',
      hint: expect.stringMatching(/^Only 0 of them are expired and inactive/),
    });
  });
});
