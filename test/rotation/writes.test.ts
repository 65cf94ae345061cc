import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.ts';
import { ActionError } from '../../src/errors.ts';
import { Journal } from '../../src/rotation/journal.ts';
import { activate, deactivate, deleteCertificate, type WriteContext } from '../../src/rotation/writes.ts';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, type MadeCertificate } from '../helpers/certs.ts';
import { startGateway, type Gateway } from '../helpers/gateway.ts';
import { recordingLogger, type RecordingLogger } from '../helpers/logger.ts';
import { sdkApi } from '../helpers/sdk.ts';

let a: MadeCertificate;
let b: MadeCertificate;
beforeAll(() => {
  a = makeCa({ cn: 'Writes A' });
  b = makeCa({ cn: 'Writes B' });
});

let emu: Emulator;
let log: RecordingLogger;
let journal: Journal;
let baseURL: string;
/**
 * The context of the writes, with the SDK's own retries at 5 (the writes must turn them off). The timeout
 * is long enough that a busy machine answering late is not taken for a lost answer (at 300 ms, a 404 that
 * came late was retried and read as "deleted by this run"); the test of answers that never come shortens it.
 */
const ctx = (maxRetries = 3, timeout = 5000): WriteContext => ({
  api: sdkApi(baseURL, { maxRetries: 5, timeout }),
  retry: { maxRetries, sleep: async () => undefined, random: () => 0.5 },
  log,
  journal,
});
const deletes = (): number => emu.requests.filter((r) => r.method === 'DELETE').length;

beforeEach(async () => {
  emu = await startEmulator();
  baseURL = emu.baseURL;
  log = recordingLogger();
  journal = new Journal();
});
afterEach(async () => {
  expect(journal.inFlight.size, 'no write is left in flight').toBe(0);
  await emu.close();
});

describe('deleteCertificate', () => {
  it('deletes once when all goes well, without the SDK retrying on its own', async () => {
    const c = emu.addCertificate(a.pem);
    expect(await deleteCertificate(c.id, ctx())).toBe('deleted');
    expect(emu.certificates).toHaveLength(0);
    expect(deletes()).toBe(1);
  });

  it('a DELETE whose answer was lost, retried, gets 404: it was this run that deleted it, and the run goes on', async () => {
    const c = emu.addCertificate(a.pem);
    emu.addFault({ kind: 'drop-after', method: 'DELETE' });
    expect(await deleteCertificate(c.id, ctx())).toBe('deleted');
    expect(deletes()).toBe(2);
    expect(log.infos.at(-1)).toBe(`${c.id} is gone: the attempt whose answer was lost deleted it.`);
  });

  it('a certificate already gone before the first attempt is reported as gone, not as deleted by this run', async () => {
    expect(await deleteCertificate('cert_alreadygone', ctx())).toBe('gone');
    expect(deletes()).toBe(1);
  });

  it('certificate_in_use is a final answer, thrown as it is, not retried', async () => {
    const c = emu.addCertificate(a.pem, { activeProjects: ['proj_alpha'] });
    const error = (await deleteCertificate(c.id, ctx()).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.kind).toBe('in-use');
    expect(error.message).toMatch(/certificate_in_use/);
    expect(deletes()).toBe(1);
  });

  it('when every answer is lost, says it is not known whether it was deleted', async () => {
    const c = emu.addCertificate(a.pem);
    emu.addFault({ kind: 'hang', method: 'DELETE', times: Infinity });
    const error = (await deleteCertificate(c.id, ctx(1, 300)).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toMatch(new RegExp(`It was tried 2 times\\. It is not known whether ${c.id} was deleted`));
    expect(deletes()).toBe(2);
  });

  it('names the deletion as in flight while it runs', async () => {
    const c = emu.addCertificate(a.pem);
    const seen: string[][] = [];
    const context = ctx();
    const api = context.api;
    const spy = Object.create(api) as typeof api;
    spy.delete = (id, options) => {
      seen.push([...journal.inFlight]);
      return api.delete(id, options);
    };
    await deleteCertificate(c.id, { ...context, api: spy });
    expect(seen).toEqual([[`delete ${c.id}`]]);
  });
});

describe('deactivate', () => {
  it('a deactivation whose answer was lost is simply retried (it is idempotent)', async () => {
    const c = emu.addCertificate(a.pem, { activeProjects: ['proj_alpha'] });
    emu.addFault({ kind: 'drop-after', path: /deactivate$/ });
    await deactivate('proj_alpha', [c.id], ctx());
    expect(emu.activeIn('proj_alpha')).toEqual([]);
  });

  it('a certificate that is gone counts as deactivated; in a call with others, the others are still deactivated', async () => {
    const first = emu.addCertificate(a.pem, { activeOrg: true });
    const second = emu.addCertificate(b.pem, { activeOrg: true });
    await deactivate('organization', [first.id, 'cert_deletedmeanwhile', second.id], ctx());
    expect(emu.activeIn('organization')).toEqual([]);
    expect(log.infos).toContain('cert_deletedmeanwhile is gone: it is no longer active anywhere.');
  });

  it('an unknown project is a failure, not a certificate that is gone', async () => {
    const c = emu.addCertificate(a.pem);
    await expect(deactivate('proj_nosuch', [c.id], ctx())).rejects.toThrow(/project proj_nosuch was not found/);
  });
});

describe('activate', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await startGateway(emu.origin);
    baseURL = gateway.baseURL;
  });
  afterEach(async () => {
    await gateway.close();
  });
  const activations = (): string[] => gateway.seen.filter((s) => s.endsWith('/activate'));
  const listings = (): string[] => gateway.seen.filter((s) => s.startsWith('GET '));

  it('an activation the answer confirms is not read back', async () => {
    const c = emu.addCertificate(a.pem);
    await activate('proj_alpha', c.id, ctx());
    expect(emu.activeIn('proj_alpha')).toEqual([c.id]);
    expect(listings()).toEqual([]);
    expect(log.all).toEqual([]);
  });

  it('a 200 that lists nothing ({"object":"list","data":[]}) is read back, and the read confirms it', async () => {
    const c = emu.addCertificate(a.pem);
    gateway.add({ method: 'POST', path: /\/activate$/, apply: true, answer: { body: { object: 'list', data: [] } } });
    await activate('proj_alpha', c.id, ctx());
    expect(emu.activeIn('proj_alpha')).toEqual([c.id]);
    expect(activations()).toHaveLength(1);
    expect(listings()).toEqual([expect.stringMatching(/^GET \/v1\/organization\/projects\/proj_alpha\/certificates\?/)]);
    expect(log.infos).toEqual([
      `The answer to activating ${c.id} for project proj_alpha does not list it active; reading project proj_alpha back.`,
    ]);
  });

  it('a 200 with an HTML page (a proxy answering in its place) is read back, for the organization too', async () => {
    const c = emu.addCertificate(a.pem);
    gateway.add({ method: 'POST', path: /\/activate$/, apply: true, answer: { body: '<html><body>OK</body></html>' } });
    await activate('organization', c.id, ctx());
    expect(emu.activeIn('organization')).toEqual([c.id]);
    expect(listings()).toEqual([expect.stringMatching(/^GET \/v1\/organization\/certificates\?/)]);
  });

  it('an answer that lists the certificate inactive confirms nothing', async () => {
    const c = emu.addCertificate(a.pem);
    const listed = { object: 'organization.certificate', id: c.id, name: null, created_at: 1, active: false, certificate_details: {} };
    gateway.add({ method: 'POST', path: /\/activate$/, apply: true, answer: { body: { object: 'list', data: [listed] } } });
    await activate('proj_alpha', c.id, ctx());
    expect(listings()).toHaveLength(1);
  });

  it('when the activation was not applied, it is tried once more, then the run fails and retires nothing', async () => {
    const c = emu.addCertificate(a.pem);
    gateway.add({ method: 'POST', path: /\/activate$/, times: 2, answer: { body: { object: 'list', data: [] } } });
    const error = (await activate('proj_alpha', c.id, ctx()).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toBe(
      `The API accepted the activation of ${c.id} for project proj_alpha twice, but project proj_alpha does not list it active. Nothing was retired.`,
    );
    expect(error.hint).toMatch(/proxy or gateway/);
    expect(activations()).toHaveLength(2);
    expect(listings()).toHaveLength(2);
    expect(emu.activeIn('proj_alpha')).toEqual([]);
  });

  it('a second attempt that the answer confirms ends it', async () => {
    const c = emu.addCertificate(a.pem);
    gateway.add({ method: 'POST', path: /\/activate$/, answer: { body: '<html>maintenance</html>' } });
    await activate('proj_alpha', c.id, ctx());
    expect(emu.activeIn('proj_alpha')).toEqual([c.id]);
    expect(activations()).toHaveLength(2);
    expect(listings()).toHaveLength(1);
  });
});

describe('writes: what they say, and who retries', () => {
  it('a plain deletion, or one of a certificate already gone, says nothing about a lost answer', async () => {
    const c = emu.addCertificate(a.pem);
    await deleteCertificate(c.id, ctx());
    await deleteCertificate('cert_alreadygone', ctx());
    expect(log.all).toEqual([]);
  });

  it('a deactivation is retried by the action (which says so), never by the SDK on its own', async () => {
    const c = emu.addCertificate(a.pem, { activeProjects: ['proj_alpha'] });
    emu.addFault({ kind: 'status', status: 500, path: /deactivate$/ });
    await deactivate('proj_alpha', [c.id], ctx());
    expect(emu.activeIn('proj_alpha')).toEqual([]);
    expect(emu.requests.filter((r) => r.path.endsWith('/deactivate'))).toHaveLength(2);
    expect(log.infos[0]).toMatch(new RegExp(`^Attempt 1 to deactivate ${c.id} for project proj_alpha failed \\(HTTP 500\\)`));
  });

  it('when every answer of a deactivation is lost, says it is not known, for one certificate or several', async () => {
    const first = emu.addCertificate(a.pem, { activeOrg: true });
    const second = emu.addCertificate(b.pem, { activeOrg: true });
    emu.addFault({ kind: 'status', status: 500, path: /deactivate$/, times: Infinity });
    const one = (await deactivate('organization', [first.id], ctx(0)).catch((e: unknown) => e)) as ActionError;
    expect(one.message).toMatch(new RegExp(`It is not known whether ${first.id} was deactivated: an answer was lost\\.$`));
    const two = (await deactivate('organization', [first.id, second.id], ctx(0)).catch((e: unknown) => e)) as ActionError;
    expect(two.message).toMatch(new RegExp(`It is not known whether ${first.id}, ${second.id} were deactivated: an answer was lost\\.$`));
  });
});
