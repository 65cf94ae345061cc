/**
 * The emulator's untrustworthy side (issues 20, 21, 24): answers of the wrong shape, answers that did
 * not apply, null dates, a skewed `Date` header, seeded holds, lists that ignore `order`, lose the query
 * or lie about `has_more`, the certificate cap under concurrency, cut answers, redirects, and the mTLS
 * host's project-level enforcement with an activation delay. Each behaviour is shown next to the default.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { request as httpsRequest } from 'node:https';
import * as path from 'node:path';
import OpenAI, { APIError, NotFoundError } from 'openai';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeLeaf, tempDir, type MadeCertificate } from '../helpers/certs.ts';
import { DEFAULT_ADMIN_KEY, MAX_CERTIFICATES, seededRandom, startEmulator } from './emulator.ts';
import type { Emulator, EmulatorOptions } from './emulator.ts';

// Certificates, made once for the file with openssl.
let caA: MadeCertificate; // CA A
let caB: MadeCertificate; // CA B
let root: MadeCertificate; // root of a two-level chain
let intermediate: MadeCertificate; // CA:TRUE, issued by root
let leafA: MadeCertificate; // client, issued by A
let leafB: MadeCertificate; // client, issued by B
let leafViaIntermediate: MadeCertificate; // client, issued by intermediate
let serverCert: MadeCertificate; // TLS server certificate for 127.0.0.1, issued by serverCa
let serverCa: MadeCertificate;
let spareCas: string[]; // 50 distinct CA PEMs for the cap

/** An intermediate CA signed by `issuer`, with openssl (certs.ts makes only self-signed CAs and leaves). */
function makeIntermediate(issuer: MadeCertificate): MadeCertificate {
  const dir = tempDir();
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  fs.writeFileSync(
    path.join(dir, 'ext'),
    'basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n',
  );
  run([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'i.key',
    '-out',
    'i.csr',
    '-subj',
    '/CN=Intermediate CA',
  ]);
  run([
    'x509',
    '-req',
    '-in',
    'i.csr',
    '-CA',
    issuer.certPath,
    '-CAkey',
    issuer.keyPath,
    '-CAcreateserial',
    '-days',
    '200',
    '-extfile',
    'ext',
    '-out',
    'i.pem',
  ]);
  const pem = fs.readFileSync(path.join(dir, 'i.pem'), 'utf8');
  return {
    ...issuer,
    pem,
    keyPem: fs.readFileSync(path.join(dir, 'i.key'), 'utf8'),
    certPath: path.join(dir, 'i.pem'),
    keyPath: path.join(dir, 'i.key'),
  };
}

beforeAll(() => {
  caA = makeCa({ cn: 'CA A' });
  caB = makeCa({ cn: 'CA B' });
  root = makeCa({ cn: 'Root CA' });
  intermediate = makeIntermediate(root);
  leafA = makeLeaf(caA, 'client-a');
  leafB = makeLeaf(caB, 'client-b');
  leafViaIntermediate = makeLeaf(intermediate, 'client-via-intermediate');
  serverCa = makeCa({ cn: 'Server CA' });
  serverCert = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
  // Distinct PEMs are not needed for the cap (the emulator stores identical uploads separately).
  spareCas = Array.from({ length: MAX_CERTIFICATES }, () => caA.pem);
});

const open: Emulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});
async function emulator(o: EmulatorOptions = {}): Promise<Emulator> {
  const e = await startEmulator(o);
  open.push(e);
  return e;
}
const sdk = (emu: Emulator): OpenAI => new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL: emu.baseURL, maxRetries: 0 });

async function raw(emu: Emulator, method: string, p: string, body?: unknown): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Bearer ${DEFAULT_ADMIN_KEY}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(emu.origin + p, {
    method,
    headers,
    redirect: 'manual',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

const ORG_LIST = '/v1/organization/certificates';

describe('answers of the wrong shape, answers that did not apply, cut answers, redirects', () => {
  it('wrong-shape: an HTML page, {} or an empty list with a 200; applied only with apply: true', async () => {
    const emu = await emulator();
    const c = emu.addCertificate(caA.pem);
    const normal = await raw(emu, 'GET', ORG_LIST);
    expect([normal.status, normal.headers.get('content-type')]).toEqual([200, 'application/json']);
    expect(JSON.parse(normal.text).data).toHaveLength(1);

    emu.addFault({ kind: 'wrong-shape', path: '/organization/certificates' });
    const html = await raw(emu, 'GET', ORG_LIST);
    expect([html.status, html.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(html.text).toMatch(/^<!DOCTYPE html>/);

    emu.addFault({ kind: 'wrong-shape', shape: 'empty-object', status: 201 });
    const empty = await raw(emu, 'GET', ORG_LIST);
    expect([empty.status, empty.text]).toEqual([201, '{}']);

    // An activation answered with an empty list: not applied by default...
    emu.addFault({ kind: 'wrong-shape', shape: 'empty-list', path: /\/activate$/, times: 2 });
    const act = await raw(emu, 'POST', '/v1/organization/certificates/activate', { certificate_ids: [c.id] });
    expect([act.status, act.text]).toEqual([200, '{"object":"list","data":[]}']);
    expect(emu.activeIn('organization')).toEqual([]);
    // ...and applied with apply: true, the answer still empty.
    emu.faults[0]!.apply = true;
    const applied = await raw(emu, 'POST', '/v1/organization/certificates/activate', { certificate_ids: [c.id] });
    expect(applied.text).toBe('{"object":"list","data":[]}');
    expect(emu.activeIn('organization')).toEqual([c.id]);
    expect(emu.faults).toEqual([]);
  });

  it('pretend: the activation is answered as applied and nothing changes; an upload gets an id and is not stored', async () => {
    const emu = await emulator();
    const client = sdk(emu);
    const c = emu.addCertificate(caA.pem);
    emu.addFault({ kind: 'pretend', path: /\/activate$/ });
    const answer = await client.admin.organization.projects.certificates.activate('proj_alpha', { certificate_ids: [c.id] });
    expect(answer.data.map((x) => [x.id, x.active])).toEqual([[c.id, true]]);
    expect(emu.activeIn('proj_alpha')).toEqual([]);
    // The same call without the rule applies.
    await client.admin.organization.projects.certificates.activate('proj_alpha', { certificate_ids: [c.id] });
    expect(emu.activeIn('proj_alpha')).toEqual([c.id]);

    emu.addFault({ kind: 'pretend', method: 'POST', path: '/organization/certificates' });
    const ghost = await client.admin.organization.certificates.create({ certificate: caB.pem, name: 'ghost' });
    expect(ghost.id).toMatch(/^cert_/);
    expect(emu.certificates.map((x) => x.id)).toEqual([c.id]);
    // A pretended deactivation leaves it active.
    emu.addFault({ kind: 'pretend', path: /\/deactivate$/ });
    const off = await client.admin.organization.projects.certificates.deactivate('proj_alpha', { certificate_ids: [c.id] });
    expect(off.data[0]?.active).toBe(false);
    expect(emu.activeIn('proj_alpha')).toEqual([c.id]);
  });

  it('cut: a stored upload answered with half its JSON or with nothing; an error is sent whole', async () => {
    const emu = await emulator();
    emu.addFault({ kind: 'cut', method: 'POST' });
    const half = await raw(emu, 'POST', ORG_LIST, { certificate: caA.pem });
    expect(half.status).toBe(200);
    expect(() => JSON.parse(half.text)).toThrow(SyntaxError);
    expect(half.text).toMatch(/^\{"object":"certificate","id":"cert_/);
    expect(emu.certificates).toHaveLength(1);

    emu.addFault({ kind: 'cut', cut: 'empty', method: 'POST' });
    const client = sdk(emu);
    // The SDK hands back `undefined` for an empty JSON answer: a "success" with no certificate in it.
    expect(await client.admin.organization.certificates.create({ certificate: caB.pem })).toBeUndefined();
    expect(emu.certificates).toHaveLength(2);
    // A cut answer through the SDK: its JSON.parse fails, a SyntaxError, not an APIError with a status.
    emu.addFault({ kind: 'cut', method: 'POST' });
    const err = await failure(client.admin.organization.certificates.create({ certificate: caB.pem }));
    expect(err).toBeInstanceOf(SyntaxError);
    expect(err).not.toBeInstanceOf(APIError);
    expect(emu.certificates).toHaveLength(3);

    emu.addFault({ kind: 'cut', method: 'POST' });
    const refused = await raw(emu, 'POST', ORG_LIST, { certificate: 'not a pem' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error.code).toBe('mtls_certificate_invalid');
    expect(emu.certificates).toHaveLength(3);

    // Without a rule the answer is whole.
    const whole = await raw(emu, 'POST', ORG_LIST, { certificate: caA.pem });
    expect(JSON.parse(whole.text).object).toBe('certificate');
  });

  it('redirect: 301/302/307 with a Location, nothing applied; the SDK follows it into a 404', async () => {
    const emu = await emulator();
    emu.addFault({ kind: 'redirect', method: 'POST', status: 301, location: 'https://gateway.example.test/login' });
    const moved = await raw(emu, 'POST', ORG_LIST, { certificate: caA.pem });
    expect([moved.status, moved.headers.get('location'), moved.text]).toEqual([301, 'https://gateway.example.test/login', '']);
    expect(emu.certificates).toHaveLength(0);

    emu.addFault({ kind: 'redirect', path: '/organization/certificates' });
    const temporary = await raw(emu, 'GET', `${ORG_LIST}?limit=5`);
    expect([temporary.status, temporary.headers.get('location')]).toEqual([307, `${emu.origin}/moved${ORG_LIST}?limit=5`]);

    emu.addFault({ kind: 'redirect', status: 302 });
    const followed = await failure(sdk(emu).admin.organization.certificates.list());
    expect(followed).toBeInstanceOf(NotFoundError);
    expect(emu.requests.at(-1)?.path).toBe(`/moved${ORG_LIST}`);
  });
});

describe('faults by chance', () => {
  it('probability: a seeded share of matching requests is faulted; the same seed faults the same ones', async () => {
    const pattern = async (faultSeed: number, probability?: number): Promise<number[]> => {
      const emu = await emulator({ faultSeed });
      emu.addFault({ kind: 'status', status: 503, method: 'GET', times: Infinity, ...(probability === undefined ? {} : { probability }) });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push((await raw(emu, 'GET', ORG_LIST)).status); // one at a time: order fixed
      return out;
    };
    const a = await pattern(5, 0.3);
    expect(await pattern(5, 0.3)).toEqual(a);
    expect(await pattern(6, 0.3)).not.toEqual(a);
    const faulted = a.filter((st) => st === 503).length;
    expect(faulted).toBeGreaterThan(3); // about 12 of 40
    expect(faulted).toBeLessThan(25);
    expect(a.filter((st) => st !== 503).every((st) => st === 200)).toBe(true);
    expect((await pattern(5)).every((st) => st === 503)).toBe(true); // without a probability: every time
  });

  it('a rule passed over by chance is not used up, and the next matching rule decides', async () => {
    const emu = await emulator({ faultSeed: 9 });
    emu.addFault({ kind: 'status', status: 500, probability: 0 });
    emu.addFault({ kind: 'status', status: 429 });
    expect((await raw(emu, 'GET', ORG_LIST)).status).toBe(429);
    expect((await raw(emu, 'GET', ORG_LIST)).status).toBe(200);
    expect(emu.faults).toEqual([expect.objectContaining({ status: 500, probability: 0 })]);
  });
});

describe('dates: null dates and the Date header', () => {
  it('null dates per certificate (seeded) or per answer (thin nullify); others keep theirs', async () => {
    const emu = await emulator();
    const client = sdk(emu);
    const unknown = emu.addCertificate(caA.pem, { nullDates: ['expires_at'] });
    const known = emu.addCertificate(caB.pem);
    const listed = (await client.admin.organization.certificates.list()).data;
    const byId = new Map(listed.map((x) => [x.id, x.certificate_details]));
    expect(byId.get(unknown.id)).toEqual({ valid_at: unknown.valid_at, expires_at: null });
    expect(byId.get(known.id)).toEqual({ valid_at: known.valid_at, expires_at: known.expires_at });
    expect((await client.admin.organization.certificates.retrieve(unknown.id)).certificate_details.expires_at).toBeNull();
    expect(
      (await client.admin.organization.projects.certificates.list('proj_alpha')).data.find((x) => x.id === unknown.id)?.certificate_details,
    ).toEqual({ valid_at: unknown.valid_at, expires_at: null });

    emu.addFault({ kind: 'thin', method: 'GET', nullify: ['valid_at', 'expires_at'] });
    const nulled = (await client.admin.organization.certificates.list()).data;
    for (const x of nulled) expect(x.certificate_details).toEqual({ valid_at: null, expires_at: null });
    const after = (await client.admin.organization.certificates.list()).data;
    expect(after.find((x) => x.id === known.id)?.certificate_details.valid_at).toBe(known.valid_at);
  });

  it('every answer carries a Date header, off by clockOffsetMs (mutable), errors and faults included', async () => {
    const emu = await emulator({ clockOffsetMs: 90 * 86_400_000 });
    const skew = async (p: string): Promise<number> => Date.parse((await raw(emu, 'GET', p)).headers.get('date') ?? '') - Date.now();
    expect(Math.abs((await skew(ORG_LIST)) - 90 * 86_400_000)).toBeLessThan(3000);
    expect(Math.abs((await skew('/v1/nowhere')) - 90 * 86_400_000)).toBeLessThan(3000); // a 404 too
    emu.addFault({ kind: 'wrong-shape' });
    expect(Math.abs((await skew(ORG_LIST)) - 90 * 86_400_000)).toBeLessThan(3000);
    emu.clockOffsetMs = -3_600_000;
    expect(Math.abs((await skew(ORG_LIST)) + 3_600_000)).toBeLessThan(3000);
    const plain = await emulator();
    const d = Date.parse((await raw(plain, 'GET', ORG_LIST)).headers.get('date') ?? '');
    expect(Math.abs(d - Date.now())).toBeLessThan(3000);
  });
});

describe('holds: seeded random latency and hold rules', () => {
  it('latency draws the same holds for the same seed, other holds for another, within [minMs, maxMs]', async () => {
    const holds = async (o: EmulatorOptions): Promise<number[]> => {
      const emu = await emulator(o);
      for (let i = 0; i < 6; i++) await raw(emu, 'GET', ORG_LIST); // one at a time: arrival order is fixed
      return emu.requests.map((r) => r.heldMs ?? -1);
    };
    const a = await holds({ latency: { minMs: 0, maxMs: 40, seed: 7 } });
    const b = await holds({ latency: { minMs: 0, maxMs: 40, seed: 7 } });
    const c = await holds({ latency: { minMs: 0, maxMs: 40, seed: 8 } });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const h of [...a, ...c]) expect(h >= 0 && h <= 40).toBe(true);
    expect((await holds({})).every((h) => h === -1)).toBe(true); // no latency, no hold recorded
    const r = seededRandom(7);
    expect(a[0]).toBe(Math.floor(r() * 41)); // the same generator the harness uses
  });

  it('hold delays one request, then the next matching rule decides: a later request overtakes it', async () => {
    const emu = await emulator();
    emu.addFault({ kind: 'hold', method: 'POST', delayMs: 400 });
    emu.addFault({ kind: 'status', method: 'POST', status: 503 });
    const order: string[] = [];
    const slow = raw(emu, 'POST', ORG_LIST, { certificate: caA.pem }).then((r) => (order.push('held'), r));
    await new Promise((res) => setTimeout(res, 50));
    const fast = raw(emu, 'GET', ORG_LIST).then((r) => (order.push('list'), r));
    const [held] = await Promise.all([slow, fast]);
    expect(order).toEqual(['list', 'held']);
    expect(held.status).toBe(503); // the status rule applied after the hold
    expect(emu.requests[0]?.heldMs).toBe(400);
    expect(emu.certificates).toHaveLength(0);
    // Both rules are used up: the same upload is now stored at once.
    expect((await raw(emu, 'POST', ORG_LIST, { certificate: caA.pem })).status).toBe(200);
    expect(emu.requests.at(-1)?.heldMs).toBeUndefined();
  });
});

describe('lists that cannot be trusted', () => {
  const ids = (page: { data: Array<{ id: string }> }): string[] => page.data.map((x) => x.id);
  async function seeded(o: EmulatorOptions): Promise<{ emu: Emulator; asc: string[] }> {
    const emu = await emulator(o);
    const asc = [0, 1, 2, 3, 4].map((i) => emu.addCertificate(caA.pem, { createdAt: 1_700_000_000 + i }).id);
    return { emu, asc };
  }

  it('order: honoured by default; desc, asc or a seeded shuffle (stable across pages) when ignored', async () => {
    const { emu, asc } = await seeded({});
    const client = sdk(emu);
    const list = async (order: 'asc' | 'desc'): Promise<string[]> => {
      const out: string[] = [];
      for await (const c of client.admin.organization.certificates.list({ order, limit: 2 })) out.push(c.id);
      return out;
    };
    expect(await list('asc')).toEqual(asc);
    emu.listing.order = 'desc';
    expect(await list('asc')).toEqual([...asc].reverse());
    emu.listing.order = 'asc';
    expect(await list('desc')).toEqual(asc);
  });

  it('order shuffled: a seeded order, the same on every page and whatever is asked; another seed, another order', async () => {
    const emu = await emulator({ listing: { order: 'shuffled', seed: 3 } });
    // Twelve, so that two orders agree by chance once in 479 million (the ids are random).
    const asc = Array.from({ length: 12 }, (_, i) => emu.addCertificate(caA.pem, { createdAt: 1_700_000_000 + i }).id);
    const client = sdk(emu);
    const list = async (order: 'asc' | 'desc'): Promise<string[]> => {
      const out: string[] = [];
      for await (const c of client.admin.organization.certificates.list({ order, limit: 5 })) out.push(c.id);
      return out;
    };
    const s3 = await list('asc');
    expect([...s3].sort()).toEqual([...asc].sort()); // every one exactly once, over three pages
    expect(s3).not.toEqual(asc);
    expect(s3).not.toEqual([...asc].reverse());
    expect(await list('desc')).toEqual(s3);
    emu.listing.seed = 4;
    const s4 = await list('asc');
    expect([...s4].sort()).toEqual([...asc].sort());
    expect(s4).not.toEqual(s3);
  });

  it('dropQuery: limit, after, order and include[] are lost; recorded as sent', async () => {
    const { emu, asc } = await seeded({ listing: { dropQuery: true } });
    const page = JSON.parse((await raw(emu, 'GET', `${ORG_LIST}?limit=2&order=asc&after=${asc[0]}`)).text);
    expect(ids(page)).toEqual([...asc].reverse()); // default: 20, newest first, from the start
    expect(emu.requests.at(-1)).toMatchObject({ query: { limit: '2', order: 'asc', after: asc[0] }, queryDropped: true });
    const retrieved = JSON.parse((await raw(emu, 'GET', `${ORG_LIST}/${asc[0]}?include[]=content`)).text);
    expect(retrieved.certificate_details.content).toBeUndefined();
    // Even an unknown parameter gets through, as the gateway never forwarded it.
    expect((await raw(emu, 'GET', `${ORG_LIST}?bogus=1`)).status).toBe(200);
    emu.listing.dropQuery = false;
    expect((await raw(emu, 'GET', `${ORG_LIST}?bogus=1`)).status).toBe(400);
    expect(ids(JSON.parse((await raw(emu, 'GET', `${ORG_LIST}?limit=2&order=asc`)).text))).toEqual(asc.slice(0, 2));
    expect(emu.requests.at(-1)?.queryDropped).toBeUndefined();
  });

  it('dropQuery with more than one page: the SDK pages the first page forever', async () => {
    const emu = await emulator({ listing: { dropQuery: true } });
    for (let i = 0; i < 25; i++) emu.addCertificate(caA.pem, { createdAt: 1_700_000_000 + i });
    const seen: string[] = [];
    for await (const item of sdk(emu).admin.organization.certificates.list({ limit: 100 })) if (seen.push(item.id) >= 100) break;
    expect(seen).toHaveLength(100); // 25 exist: the first 20 come back page after page
    expect(new Set(seen).size).toBe(20);
    expect(new Set(emu.requests.map((r) => JSON.stringify(r.query))).size).toBeGreaterThan(1); // cursors sent, dropped
  });

  it('alwaysHasMore and repeatLastItem: honest by default; with both and limit 1 the list never advances', async () => {
    const { emu, asc } = await seeded({});
    const honest = JSON.parse((await raw(emu, 'GET', `${ORG_LIST}?order=asc&limit=2&after=${asc[2]}`)).text);
    expect([ids(honest), honest.has_more]).toEqual([asc.slice(3), false]);

    emu.listing.repeatLastItem = true;
    const repeated = JSON.parse((await raw(emu, 'GET', `${ORG_LIST}?order=asc&limit=2&after=${asc[1]}`)).text);
    expect(ids(repeated)).toEqual([asc[1], asc[2]]); // starts with the previous page's last item
    emu.listing.alwaysHasMore = true;
    const last = JSON.parse((await raw(emu, 'GET', `${ORG_LIST}?order=asc&limit=2&after=${asc[4]}`)).text);
    expect([ids(last), last.has_more]).toEqual([[asc[4]], true]);

    const seen: string[] = [];
    for await (const item of sdk(emu).admin.organization.projects.certificates.list('proj_alpha', { limit: 1, order: 'asc' }))
      if (seen.push(item.id) >= 30) break;
    expect(new Set(seen)).toEqual(new Set([asc[0]])); // 30 items, all the first one
    expect(new Set(emu.requests.slice(-29).map((r) => r.query['after'])).size).toBe(1);
  });
});

describe('the certificate cap', () => {
  it('default: 400 certificate_limit_exceeded at 50', async () => {
    const emu = await emulator();
    for (const pem of spareCas) emu.addCertificate(pem);
    const refused = await raw(emu, 'POST', ORG_LIST, { certificate: caB.pem });
    expect([refused.status, JSON.parse(refused.text).error.code]).toEqual([400, 'certificate_limit_exceeded']);
  });

  it('configurable status and code; 20 concurrent uploads with 45 stored: exactly 5 stored, also with late commits', async () => {
    for (const late of [false, true]) {
      const emu = await emulator({ certificateLimit: { status: 409, code: 'certificate_limit_reached' } });
      for (const pem of spareCas.slice(0, 45)) emu.addCertificate(pem);
      if (late) emu.addFault({ kind: 'late', method: 'POST', delayMs: 200, times: Infinity });
      const answers = await Promise.all(Array.from({ length: 20 }, () => raw(emu, 'POST', ORG_LIST, { certificate: caB.pem })));
      await emu.settled();
      expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
      const refusals = answers.filter((a) => a.status !== 200);
      expect(refusals).toHaveLength(15);
      for (const r of refusals) expect([r.status, JSON.parse(r.text).error.code]).toEqual([409, 'certificate_limit_reached']);
      expect(emu.certificates).toHaveLength(50);
    }
  });

  it('the cap may be lowered, with a 429', async () => {
    const emu = await emulator();
    emu.certificateLimit = { max: 1, status: 429, code: 'quota_exceeded' };
    expect((await raw(emu, 'POST', ORG_LIST, { certificate: caA.pem })).status).toBe(200);
    const second = await raw(emu, 'POST', ORG_LIST, { certificate: caA.pem });
    expect([second.status, JSON.parse(second.text).error]).toEqual([
      429,
      expect.objectContaining({ code: 'quota_exceeded', type: 'requests' }),
    ]);
  });
});

describe('the mTLS host: project-level enforcement', () => {
  const PROJECT_KEY = 'sk-proj-alpha-test-key';
  const BETA_KEY = 'sk-proj-beta-test-key';
  const mtlsOptions = (o: EmulatorOptions = {}): EmulatorOptions => ({
    tls: { key: serverCert.keyPem, cert: serverCert.pem },
    requireClientCertificate: true,
    projectKeys: { [PROJECT_KEY]: 'proj_alpha', [BETA_KEY]: 'proj_beta' },
    ...o,
  });

  /** GET through node:https with a bearer key and optional client certificate chain (PEMs concatenated). */
  function get(emu: Emulator, p: string, key: string, client?: { cert: string; key: string }): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        emu.origin + p,
        { headers: { authorization: `Bearer ${key}` }, ca: serverCa.pem, agent: false, ...(client ?? {}) },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
  const as = (leaf: MadeCertificate, ...chain: MadeCertificate[]) => ({
    cert: [leaf, ...chain].map((c) => c.pem).join(''),
    key: leaf.keyPem,
  });
  const refusal = (r: { status: number; json: any }) => [r.status, r.json.error?.code];

  it('a project key needs a client certificate chaining to a CA active in that project, else in the organization', async () => {
    const emu = await emulator(mtlsOptions());
    emu.addCertificate(caA.pem, { activeProjects: ['proj_alpha'] });
    emu.addCertificate(caB.pem, { activeOrg: true });

    const ok = await get(emu, '/v1/models', PROJECT_KEY, as(leafA));
    expect(ok.status).toBe(200);
    expect(ok.json.object).toBe('list');
    expect(ok.json.data.map((m: { id: string }) => m.id)).toContain('gpt-4o-mini');
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY))).toEqual([401, 'certificate_required']);
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY, as(caA)))).toEqual([401, 'invalid_certificate']); // a CA, not a client
    // proj_alpha has its own CA, so the organization's does not count there...
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY, as(leafB)))).toEqual([401, 'certificate_verification_failed']);
    // ...and proj_beta has none, so the organization's does.
    expect((await get(emu, '/v1/models', BETA_KEY, as(leafB))).status).toBe(200);
    expect(refusal(await get(emu, '/v1/models', BETA_KEY, as(leafA)))).toEqual([401, 'certificate_verification_failed']);
    // A project key never reaches the admin endpoints.
    expect((await get(emu, ORG_LIST, PROJECT_KEY, as(leafA))).status).toBe(403);
    // The admin key keeps its own rule (an organization-level CA) and its own code.
    expect((await get(emu, '/v1/models', DEFAULT_ADMIN_KEY, as(leafB))).status).toBe(200);
    expect(refusal(await get(emu, ORG_LIST, DEFAULT_ADMIN_KEY, as(leafA)))).toEqual([401, 'mtls_client_certificate_required']);
  });

  it('chains: leaf then intermediates presented by the client; a missing intermediate is not fetched', async () => {
    const emu = await emulator(mtlsOptions());
    emu.addCertificate(root.pem, { activeProjects: ['proj_alpha'], activeOrg: true });
    expect((await get(emu, '/v1/models', PROJECT_KEY, as(leafViaIntermediate, intermediate))).status).toBe(200);
    expect(emu.requests.at(-1)).toMatchObject({
      clientCertSubject: expect.stringContaining('client-via-intermediate'),
      clientCertChainSubjects: [expect.stringContaining('Intermediate CA')],
    });
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY, as(leafViaIntermediate)))).toEqual([401, 'certificate_verification_failed']);
    // Admin calls accept the same chain now (they used to need a leaf issued directly by the CA).
    expect((await get(emu, ORG_LIST, DEFAULT_ADMIN_KEY, as(leafViaIntermediate, intermediate))).status).toBe(200);
    expect(refusal(await get(emu, ORG_LIST, DEFAULT_ADMIN_KEY, as(leafViaIntermediate)))).toEqual([
      401,
      'mtls_client_certificate_required',
    ]);
  });

  it('the certificate filter (predicate) refuses with certificate_attribute_verification_failed', async () => {
    const emu = await emulator(
      mtlsOptions({ clientCertificatePredicate: (leaf, project) => !(project === 'proj_alpha' && leaf.subject.includes('client-a')) }),
    );
    emu.addCertificate(caA.pem, { activeProjects: ['proj_alpha', 'proj_beta'] });
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY, as(leafA)))).toEqual([403, 'certificate_attribute_verification_failed']);
    expect((await get(emu, '/v1/models', BETA_KEY, as(leafA))).status).toBe(200);
  });

  it('activationDelayMs: listed active at once, enforced only after the delay; none by default', async () => {
    const emu = await emulator(mtlsOptions({ activationDelayMs: 2000 }));
    const admin = emu.addCertificate(caB.pem, { activeOrg: true }); // for the admin calls
    const a = emu.addCertificate(caA.pem);
    const client = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      fetch: (async (input: string | URL | Request, init?: RequestInit) => {
        // node:https for the client certificate; only what this test's calls need.
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        return new Promise<Response>((resolve, reject) => {
          const headers: Record<string, string> = {};
          new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
          const req = httpsRequest(url, { method: init?.method ?? 'GET', headers, ca: serverCa.pem, agent: false, ...as(leafB) }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve(
                new Response(Buffer.concat(chunks).toString(), {
                  status: res.statusCode ?? 0,
                  headers: { 'content-type': 'application/json' },
                }),
              ),
            );
          });
          req.on('error', reject);
          req.end(typeof init?.body === 'string' ? init.body : undefined);
        });
      }) as typeof fetch,
    });
    await client.admin.organization.projects.certificates.activate('proj_alpha', { certificate_ids: [a.id] });
    expect(emu.activeIn('proj_alpha')).toEqual([a.id]);
    expect((await client.admin.organization.projects.certificates.list('proj_alpha')).data.find((x) => x.id === a.id)?.active).toBe(true);
    expect(emu.enforcedIn('proj_alpha')).toEqual([]);
    // Not in effect yet: proj_alpha has no CA in effect, so the organization's (B) still counts and A's does not.
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY, as(leafA)))).toEqual([401, 'certificate_verification_failed']);
    await new Promise((r) => setTimeout(r, 2100));
    expect(emu.enforcedIn('proj_alpha')).toEqual([a.id]);
    expect((await get(emu, '/v1/models', PROJECT_KEY, as(leafA))).status).toBe(200);
    expect(emu.enforcedIn('organization')).toEqual([admin.id]); // seeded active: in effect at once

    emu.activationDelayMs = 0;
    const betaBefore = await get(emu, '/v1/models', BETA_KEY, as(leafA));
    expect(refusal(betaBefore)).toEqual([401, 'certificate_verification_failed']);
    await client.admin.organization.projects.certificates.activate('proj_beta', { certificate_ids: [a.id] });
    expect((await get(emu, '/v1/models', BETA_KEY, as(leafA))).status).toBe(200);
    // Deactivation is enforced at once.
    await client.admin.organization.projects.certificates.deactivate('proj_alpha', { certificate_ids: [a.id] });
    expect(refusal(await get(emu, '/v1/models', PROJECT_KEY, as(leafA)))).toEqual([401, 'certificate_verification_failed']);
  });

  it('without TLS a project key reads the models with no certificate check', async () => {
    const emu = await emulator({ projectKeys: { [PROJECT_KEY]: 'proj_alpha' } });
    const res = await fetch(`${emu.origin}/v1/models`, { headers: { authorization: `Bearer ${PROJECT_KEY}` } });
    expect(res.status).toBe(200);
    const unknown = await fetch(`${emu.origin}/v1/models`, { headers: { authorization: 'Bearer sk-proj-unknown' } });
    expect(unknown.status).toBe(401);
  });
});
