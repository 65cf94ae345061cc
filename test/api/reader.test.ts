/**
 * CertificateReader and CertificateApi on answers that are not what the action needs, through the real SDK:
 * an answer that cannot be read is an `unreadable` ApiError, never an empty list or a success; pagination
 * is bounded; an activation is confirmed only by what its answer lists.
 */
import { hintFor } from '../../src/inputs/hints.ts';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.ts';
import { ORGANIZATION } from '../../src/api/reader.ts';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, type MadeCertificate } from '../helpers/certs.ts';
import { startGateway, type Gateway } from '../helpers/gateway.ts';
import { sdkApi } from '../helpers/sdk.ts';

let ca: MadeCertificate;
let other: MadeCertificate;
beforeAll(() => {
  ca = makeCa({ cn: 'Reader CA' });
  other = makeCa({ cn: 'Reader other' });
});

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

async function unreadable(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    (value: unknown) => value,
    (e: unknown) => e,
  );
  expect(error, 'an answer that cannot be read is an error, never a value').toBeInstanceOf(ApiError);
  expect((error as ApiError).kind).toBe('unreadable');
  return error as ApiError;
}

const LIST = /\/organization\/certificates$/;
const listedItem = (id: string, active = false): object => ({
  object: 'organization.certificate',
  id,
  name: null,
  created_at: 1_700_000_000,
  active,
  certificate_details: { valid_at: 1_700_000_000, expires_at: 1_900_000_000 },
});

describe('listScope: an answer that is not a list', () => {
  it('{} is unreadable, not an empty list, and says a proxy may have answered', async () => {
    emu.addCertificate(ca.pem);
    emu.addFault({ kind: 'wrong-shape', shape: 'empty-object', method: 'GET', path: LIST });
    const error = await unreadable(sdkApi(emu.baseURL).listScope(ORGANIZATION));
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the API answered 200, but its answer is not a list \(no "data" array and "has_more"\)\./,
    );
    expect(error.message).toMatch(/proxy or gateway/);
    expect(error.facts).toMatchObject({ status: 200, maybeApplied: false, retryable: false });
  });

  it('an HTML page is unreadable, for a project too', async () => {
    emu.addFault({ kind: 'wrong-shape', shape: 'html', method: 'GET', path: /\/projects\/proj_alpha\/certificates$/ });
    const error = await unreadable(sdkApi(emu.baseURL).listScope('proj_alpha'));
    expect(error.message).toMatch(
      /^Could not list the certificates of project proj_alpha: the API answered 200, but its answer is an HTML page, not JSON\./,
    );
  });

  it('an answer cut short, or empty, is unreadable', async () => {
    emu.addCertificate(ca.pem);
    emu.addFault({ kind: 'cut', cut: 'truncated', method: 'GET', path: LIST });
    expect((await unreadable(sdkApi(emu.baseURL).listScope(ORGANIZATION))).message).toMatch(/its answer is not whole JSON/);
    emu.addFault({ kind: 'cut', cut: 'empty', method: 'GET', path: LIST });
    expect((await unreadable(sdkApi(emu.baseURL).listScope(ORGANIZATION))).message).toMatch(/its answer was empty/);
  });

  it('an item without its id or fields is unreadable, not skipped', async () => {
    const gateway = await startGateway(emu.origin);
    try {
      gateway.add({
        method: 'GET',
        path: LIST,
        answer: { body: { object: 'list', data: [listedItem('cert_a'), { id: 'cert_b', active: true }], has_more: false } },
      });
      const error = await unreadable(sdkApi(gateway.baseURL).listScope(ORGANIZATION));
      expect(error.message).toMatch(/an item of the list lacks its id or fields/);
    } finally {
      await gateway.close();
    }
  });

  it('a valid list reads every page in order, and dates the API does not give are unknown, not 1970', async () => {
    for (let i = 0; i < 45; i++) emu.addCertificate(i % 2 ? ca.pem : other.pem);
    const gateway = await startGateway(emu.origin);
    try {
      gateway.add({
        method: 'GET',
        path: /\/projects\/proj_beta\/certificates$/,
        answer: { body: { object: 'list', data: [{ ...listedItem('cert_x'), certificate_details: { valid_at: null } }], has_more: false } },
      });
      const api = sdkApi(gateway.baseURL);
      expect(await api.listScope(ORGANIZATION)).toHaveLength(45);
      expect(await api.listScope('proj_beta')).toEqual([
        { id: 'cert_x', name: null, createdAt: 1_700_000_000, validAt: null, expiresAt: null, active: false },
      ]);
    } finally {
      await gateway.close();
    }
  });
});

describe('listScope: pagination is bounded', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await startGateway(emu.origin);
  });
  afterEach(async () => {
    await gateway.close();
  });

  it('a cursor that repeats stops the reading with an error', async () => {
    // Page 1 ends at cert_1; every later page brings a new item but names cert_1 as its last again.
    let page = 0;
    gateway.add({
      method: 'GET',
      path: LIST,
      times: 10,
      answer: () => {
        page++;
        return { body: { object: 'list', data: [listedItem(`cert_${page}`)], last_id: 'cert_1', has_more: true } };
      },
    });
    const error = await unreadable(sdkApi(gateway.baseURL).listScope(ORGANIZATION));
    expect(error.message).toBe(
      'Could not list the certificates of the organization: the pages never end (the API sent the same page again (cursor cert_1)). A gateway that drops the query string, or repeats pages, answers like this; the action stopped reading rather than loop.',
    );
    expect(page).toBe(2);
    expect(gateway.seen.filter((s) => s.startsWith('GET'))[1]).toMatch(/after=cert_1/);
  });

  it('a gateway that drops the query string (the same first page again) stops after the second page', async () => {
    for (let i = 0; i < 25; i++) emu.addCertificate(ca.pem);
    emu.listing = { dropQuery: true };
    const error = await unreadable(sdkApi(emu.baseURL).listScope(ORGANIZATION));
    expect(error.message).toMatch(/the pages never end \(the API sent the same page again \(cursor cert_\w+\)\)/);
    expect(emu.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    // Its fix is the query string, not "this is not OpenAI's answer".
    expect(error.facts.endless).toBe(true);
    expect(hintFor(error, 'activate-projects')).toMatch(/^Check that base-url and any proxy .* pass the query string through unchanged/);
    expect(hintFor(error, 'activate-projects')).not.toMatch(/did not come from the OpenAI API/);
  });

  it('a list that always says more follow ends with an error on the empty page', async () => {
    emu.addCertificate(ca.pem);
    emu.listing = { alwaysHasMore: true };
    const error = await unreadable(sdkApi(emu.baseURL).listScope(ORGANIZATION));
    expect(error.message).toMatch(/the API sent a page that says more follow but holds nothing/);
    expect(emu.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  it('more distinct items than a scope can hold stops the reading', async () => {
    let page = 0;
    gateway.add({
      method: 'GET',
      path: LIST,
      times: 100,
      answer: () => {
        page++;
        const data = Array.from({ length: 30 }, (_, i) => listedItem(`cert_${page}_${i}`));
        return { body: { object: 'list', data, has_more: true } };
      },
    });
    const error = await unreadable(sdkApi(gateway.baseURL).listScope(ORGANIZATION));
    expect(error.message).toMatch(/more than 100 distinct items, more than the scope can hold/);
    expect(page).toBe(4);
  });
});

describe('listProjects', () => {
  it('lists every page of projects, without the archived ones', async () => {
    await emu.close();
    const projects = [...Array.from({ length: 130 }, (_, i) => `proj_p${i}`), { id: 'proj_old', archived: true }];
    emu = await startEmulator({ projects });
    const ids = await sdkApi(emu.baseURL).listProjects();
    expect(ids).toHaveLength(130);
    expect(ids).not.toContain('proj_old');
  });
});

describe('retrieve, create, delete: the answer must be what was asked for', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await startGateway(emu.origin);
  });
  afterEach(async () => {
    await gateway.close();
  });

  it('a retrieve answered with another certificate is unreadable', async () => {
    const stored = emu.addCertificate(ca.pem);
    gateway.add({ method: 'GET', path: /\/certificates\/cert_\w+$/, answer: { body: { ...listedItem('cert_other') } } });
    const error = await unreadable(sdkApi(gateway.baseURL).retrieve(stored.id));
    expect(error.message).toMatch(new RegExp(`its answer is not certificate ${stored.id}`));
    expect(error.facts.maybeApplied).toBe(false);
  });

  it('an upload answered {} may have been stored', async () => {
    emu.addFault({ kind: 'wrong-shape', shape: 'empty-object', apply: true, method: 'POST', path: LIST });
    const error = await unreadable(sdkApi(emu.baseURL).create(ca.pem, 'corp'));
    expect(error.message).toMatch(/its answer is not a certificate/);
    expect(error.facts).toMatchObject({ maybeApplied: true, retryable: true });
    expect(emu.certificates).toHaveLength(1);
  });

  it('a deletion answered with an HTML page, or without the id, may have been applied', async () => {
    const first = emu.addCertificate(ca.pem);
    emu.addFault({ kind: 'wrong-shape', shape: 'html', apply: true, method: 'DELETE' });
    expect((await unreadable(sdkApi(emu.baseURL).delete(first.id))).facts.maybeApplied).toBe(true);
    const second = emu.addCertificate(other.pem);
    gateway.add({ method: 'DELETE', path: /\/certificates\//, apply: true, answer: { body: { object: 'certificate.deleted' } } });
    const error = await unreadable(sdkApi(gateway.baseURL).delete(second.id));
    expect(error.message).toMatch(new RegExp(`its answer does not name ${second.id} as deleted`));
    expect(emu.certificates).toHaveLength(0);
  });
});

describe('activate and deactivate: confirmed only by what the answer lists', () => {
  it('confirms the ids the answer lists in the new state, in calls of at most 10 ids', async () => {
    const ids = Array.from({ length: 12 }, () => emu.addCertificate(ca.pem).id);
    const api = sdkApi(emu.baseURL);
    expect([...(await api.activate('proj_alpha', ids))].sort()).toEqual([...ids].sort());
    expect(
      emu.requests.filter((r) => r.path.endsWith('/activate')).map((r) => (r.body as { certificate_ids: string[] }).certificate_ids.length),
    ).toEqual([10, 2]);
    expect([...(await api.deactivate('proj_alpha', ids.slice(0, 3)))].sort()).toEqual(ids.slice(0, 3).sort());
  });

  it('a 200 that lists nothing, or an HTML page, confirms nothing and is not an error', async () => {
    const stored = emu.addCertificate(ca.pem);
    const api = sdkApi(emu.baseURL);
    emu.addFault({ kind: 'wrong-shape', shape: 'empty-list', method: 'POST', path: /\/activate$/ });
    expect(await api.activate(ORGANIZATION, [stored.id])).toEqual(new Set());
    emu.addFault({ kind: 'wrong-shape', shape: 'html', method: 'POST', path: /\/activate$/ });
    expect(await api.activate('proj_alpha', [stored.id])).toEqual(new Set());
    emu.addFault({ kind: 'wrong-shape', shape: 'empty-object', method: 'POST', path: /\/deactivate$/ });
    expect(await api.deactivate('proj_alpha', [stored.id])).toEqual(new Set());
  });

  it('an answer that pretends (lists it active, but nothing was applied) is taken at its word: only a read-back can tell', async () => {
    const stored = emu.addCertificate(ca.pem);
    emu.addFault({ kind: 'pretend', method: 'POST', path: /\/activate$/ });
    expect(await sdkApi(emu.baseURL).activate('proj_alpha', [stored.id])).toEqual(new Set([stored.id]));
    expect(emu.activeIn('proj_alpha')).toEqual([]);
  });
});

describe('the API clock', () => {
  it("keeps the newest Date header the API sent, with the runner's clock at that moment", async () => {
    await emu.close();
    emu = await startEmulator({ clockOffsetMs: 3_600_000 });
    const api = sdkApi(emu.baseURL);
    expect(api.clock).toBeUndefined();
    const before = Date.now();
    await api.listScope(ORGANIZATION);
    expect(api.clock).toBeDefined();
    expect(api.clock!.local).toBeGreaterThanOrEqual(before);
    expect(api.clock!.api - api.clock!.local).toBeGreaterThan(3_600_000 - 2000);
    expect(api.clock!.api - api.clock!.local).toBeLessThan(3_600_000 + 2000);
  });
});
