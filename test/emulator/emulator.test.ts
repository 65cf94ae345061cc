import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_KEY, startEmulator } from './emulator.ts';
import type { Emulator, EmulatorOptions, ProjectDefinition, RecordedRequest } from './emulator.ts';

// ---------------------------------------------------------------------------------------------------
// Certificates generated at test time with the openssl CLI
// ---------------------------------------------------------------------------------------------------

interface KeyPair {
  cert: string;
  key: string;
}

let dir = '';
let ca1: KeyPair; // active CA in most tests
let ca2: KeyPair; // second CA
let shortLived: string; // expires within one day
let expired: string; // expired in 2020
let client1: KeyPair; // leaf issued by ca1
let client2: KeyPair; // leaf issued by ca2
let server: KeyPair; // TLS server certificate for 127.0.0.1

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const CA_EXT = [
  '-addext',
  'basicConstraints=critical,CA:TRUE',
  '-addext',
  'keyUsage=critical,keyCertSign,cRLSign',
  '-addext',
  'subjectKeyIdentifier=hash',
  '-addext',
  'authorityKeyIdentifier=keyid:always',
];
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(name: string, days: number): KeyPair {
  openssl('req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', String(days), '-subj', `/CN=${name}`, ...CA_EXT);
  return { cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

function makeLeaf(name: string, issuer: string): KeyPair {
  openssl(
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '30',
    '-subj',
    `/CN=${name}`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=clientAuth',
  );
  return { cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emu-certs-'));
  ca1 = makeCa('ca-1', 365);
  ca2 = makeCa('ca-2', 365);
  shortLived = makeCa('short', 1).cert;
  client1 = makeLeaf('client-1', 'ca-1');
  client2 = makeLeaf('client-2', 'ca-2');
  openssl(
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'server.key',
    '-out',
    'server.pem',
    '-days',
    '30',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  );
  server = { cert: readFileSync(join(dir, 'server.pem'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8') };
  // A certificate that expired in 2020: `openssl req` cannot back-date, `openssl ca` can.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\npolicy=p\ndefault_md=sha256\n[p]\ncommonName=supplied\n',
  );
  openssl('req', '-new', ...EC, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=expired');
  openssl(
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-selfsign',
    '-keyfile',
    'expired.key',
    '-in',
    'expired.csr',
    '-out',
    'expired.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
    '-notext',
  );
  expired = readFileSync(join(dir, 'expired.pem'), 'utf8');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

function sdk(emu: Emulator, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  return new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL: emu.baseURL, maxRetries: 0, ...extra });
}

async function failure(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof APIError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

async function raw(
  emu: Emulator,
  method: string,
  path: string,
  init: { body?: string; contentType?: string | null; auth?: string | null } = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? `Bearer ${DEFAULT_ADMIN_KEY}` : init.auth;
  if (auth !== null) headers['authorization'] = auth;
  const ct = init.contentType === undefined ? (init.body !== undefined ? 'application/json' : null) : init.contentType;
  if (ct !== null) headers['content-type'] = ct;
  const res = await fetch(emu.origin + path, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

function expectErrorShape(json: any): void {
  expect(Object.keys(json)).toEqual(['error']);
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
}

/** A `fetch` for the SDK over node:https, so the SDK can present a client certificate without undici's Agent. */
function httpsFetch(tls: { ca: string; cert?: string; key?: string }): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, { method: init?.method ?? 'GET', headers, agent: false, ...tls }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve(new Response(new Uint8Array(Buffer.concat(chunks)), { status: res.statusCode ?? 500, headers: h }));
        });
      });
      req.on('error', reject);
      init?.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')));
      if (typeof init?.body === 'string') req.end(init.body);
      else req.end();
    });
  }) as typeof fetch;
}

function httpsGet(emu: Emulator, path: string, tls: { cert?: string; key?: string }): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      emu.origin + path,
      { headers: { authorization: `Bearer ${DEFAULT_ADMIN_KEY}` }, ca: server.cert, agent: false, ...tls },
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

// ---------------------------------------------------------------------------------------------------
// Plain HTTP emulator driven by the SDK
// ---------------------------------------------------------------------------------------------------

describe('emulator (HTTP) through the openai SDK', () => {
  let emu: Emulator;
  let client: OpenAI;
  const start = async (o: EmulatorOptions = {}): Promise<void> => {
    await emu?.close();
    emu = await startEmulator(o);
    client = sdk(emu);
  };
  beforeEach(() => start());
  afterEach(() => emu.close());

  it('uploads, lists, retrieves with content and renames', async () => {
    const certs = client.admin.organization.certificates;
    const a = await certs.create({ certificate: ca1.cert, name: 'ca-1 gen 1' });
    const x509 = new X509Certificate(ca1.cert);
    expect(a).toEqual({
      object: 'certificate',
      id: expect.stringMatching(/^cert_[A-Za-z0-9]{24}$/),
      name: 'ca-1 gen 1',
      created_at: expect.any(Number),
      certificate_details: {
        valid_at: Math.floor(x509.validFromDate.getTime() / 1000),
        expires_at: Math.floor(x509.validToDate.getTime() / 1000),
      },
    });
    const b = await certs.create({ certificate: ca2.cert });
    expect(b.name).toBeNull();
    const dup = await certs.create({ certificate: ca1.cert, name: 'same pem again' });
    expect(dup.id).not.toBe(a.id); // no dedupe

    const listed = await collect(certs.list());
    expect(listed.map((c) => c.id)).toEqual([dup.id, b.id, a.id]); // desc, ties newest-inserted first
    expect(listed[2]).toEqual({
      object: 'organization.certificate',
      id: a.id,
      name: 'ca-1 gen 1',
      active: false,
      created_at: a.created_at,
      certificate_details: a.certificate_details,
    });

    const withContent = await certs.retrieve(a.id, { include: ['content'] });
    // OpenAI's documentation shows the content as one line of PEM; the emulator answers the same way.
    expect(withContent.certificate_details.content).toBe(ca1.cert.replace(/\n/g, ''));
    expect(withContent.object).toBe('certificate');
    expect('active' in withContent).toBe(false);
    expect(emu.requests.at(-1)?.query).toEqual({ 'include[]': 'content' });
    const without = await certs.retrieve(a.id);
    expect(without.certificate_details.content).toBeUndefined();

    const renamed = await certs.update(a.id, { name: 'ca-1 renamed' });
    expect(renamed.name).toBe('ca-1 renamed');
    expect(emu.certificates.find((c) => c.id === a.id)?.name).toBe('ca-1 renamed');
    expect(emu.certificates[0]?.pem).toBe(ca1.cert);
    expect(emu.certificates[0]?.fingerprint).toBe(x509.fingerprint256);

    // Recording: bodies and queries, never the key.
    expect(emu.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/organization/certificates',
      query: {},
      body: { certificate: ca1.cert, name: 'ca-1 gen 1' },
    });
    expect(JSON.stringify(emu.requests)).not.toContain(DEFAULT_ADMIN_KEY);
  });

  it('paginates with limit, after and order', async () => {
    const ids = [0, 1, 2, 3, 4].map((i) => emu.addCertificate(ca1.cert, { createdAt: 1_700_000_000 + i, name: `c${i}` }).id);
    const asc = await collect(client.admin.organization.certificates.list({ limit: 2, order: 'asc' }));
    expect(asc.map((c) => c.id)).toEqual(ids);
    const lists = emu.requests.filter((r) => r.method === 'GET');
    expect(lists.map((r) => r.query)).toEqual([
      { limit: '2', order: 'asc' },
      { limit: '2', order: 'asc', after: ids[1] },
      { limit: '2', order: 'asc', after: ids[3] },
    ]);
    const page = await client.admin.organization.certificates.list({ limit: 3 });
    expect(page.data.map((c) => c.id)).toEqual([ids[4], ids[3], ids[2]]);
    expect(page.has_more).toBe(true);
    expect(page.last_id).toBe(ids[2]);

    for (const limit of [0, 101, 2.5]) {
      const e = await failure(client.admin.organization.certificates.list({ limit }));
      expect(e).toBeInstanceOf(BadRequestError);
      expect(e.param).toBe('limit');
    }
    const badOrder = await failure(client.admin.organization.certificates.list({ order: 'up' as 'asc' }));
    expect(badOrder.param).toBe('order');
    const unknownAfter = await failure(client.admin.organization.certificates.list({ after: 'cert_missing' }));
    expect(unknownAfter).toBeInstanceOf(NotFoundError);
    const badAfter = await failure(client.admin.organization.certificates.list({ after: 'nope' }));
    expect(badAfter.param).toBe('after');

    const empty = await startEmulator();
    try {
      const p = await sdk(empty).admin.organization.certificates.list();
      expect(p.data).toEqual([]);
      expect(p.has_more).toBe(false);
      expect(p.last_id).toBe('');
    } finally {
      await empty.close();
    }
  });

  it('activates and deactivates at organization and project level, atomically and idempotently', async () => {
    const certs = client.admin.organization.certificates;
    const projectCerts = client.admin.organization.projects.certificates;
    const a = await certs.create({ certificate: ca1.cert, name: 'a' });
    const b = await certs.create({ certificate: ca2.cert, name: 'b' });

    const act = await certs.activate({ certificate_ids: [a.id] });
    expect(act.object).toBe('organization.certificate.activation');
    const actItems = await collect(certs.activate({ certificate_ids: [a.id] })); // idempotent, iterable
    expect(actItems).toEqual([
      {
        object: 'organization.certificate',
        id: a.id,
        name: 'a',
        active: true,
        created_at: a.created_at,
        certificate_details: a.certificate_details,
      },
    ]);
    expect(emu.activeIn('organization')).toEqual([a.id]);

    // Atomic: one unknown id and nothing changes.
    const missing = await failure(certs.activate({ certificate_ids: [b.id, 'cert_doesnotexist'] }));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toContain("No certificate found with id 'cert_doesnotexist'");
    expect(emu.activeIn('organization')).toEqual([a.id]);

    const pAct = await projectCerts.activate('proj_alpha', { certificate_ids: [b.id] });
    expect(pAct.object).toBe('organization.project.certificate.activation');
    expect(pAct.data).toEqual([
      {
        object: 'organization.project.certificate',
        id: b.id,
        name: 'b',
        active: true,
        created_at: b.created_at,
        certificate_details: b.certificate_details,
      },
    ]);
    expect(emu.activeIn('proj_alpha')).toEqual([b.id]);

    const alpha = await collect(projectCerts.list('proj_alpha'));
    expect(alpha.map((c) => [c.object, c.id, c.active])).toEqual([
      ['organization.project.certificate', b.id, true],
      ['organization.project.certificate', a.id, false],
    ]);
    const beta = await collect(projectCerts.list('proj_beta', { order: 'asc' }));
    expect(beta.map((c) => [c.id, c.active])).toEqual([
      [a.id, false],
      [b.id, false],
    ]);
    const org = await collect(certs.list());
    expect(org.map((c) => [c.id, c.active])).toEqual([
      [b.id, false],
      [a.id, true],
    ]);

    const deact = await certs.deactivate({ certificate_ids: [a.id, b.id] });
    expect(deact.object).toBe('organization.certificate.deactivation');
    expect(deact.data.map((c) => c.active)).toEqual([false, false]);
    const pDeact = await projectCerts.deactivate('proj_alpha', { certificate_ids: [b.id] });
    expect(pDeact.object).toBe('organization.project.certificate.deactivation');
    expect(pDeact.data[0]?.active).toBe(false);
    expect(emu.activeIn('organization')).toEqual([]);
    expect(emu.activeIn('proj_alpha')).toEqual([]);
  });

  it('refuses to delete a certificate still in use, deletes it once inactive everywhere', async () => {
    const certs = client.admin.organization.certificates;
    const a = await certs.create({ certificate: ca1.cert });
    await certs.activate({ certificate_ids: [a.id] });
    await client.admin.organization.projects.certificates.activate('proj_beta', { certificate_ids: [a.id] });

    const inUse = await failure(certs.delete(a.id));
    expect(inUse).toBeInstanceOf(BadRequestError);
    expect(inUse.code).toBe('certificate_in_use');
    expect((inUse.error as any).message).toBe(
      'Certificate is still active for the organization or a project; deactivate it everywhere before deleting it.',
    );
    await certs.deactivate({ certificate_ids: [a.id] });
    expect((await failure(certs.delete(a.id))).code).toBe('certificate_in_use'); // still active in proj_beta
    await client.admin.organization.projects.certificates.deactivate('proj_beta', { certificate_ids: [a.id] });

    expect(await certs.delete(a.id)).toEqual({ object: 'certificate.deleted', id: a.id });
    expect(emu.certificates).toEqual([]);
    const gone = await failure(certs.retrieve(a.id));
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone.error as any).message).toBe(`No certificate found with id '${a.id}'.`);
    expect(await failure(certs.delete(a.id))).toBeInstanceOf(NotFoundError);
  });

  it('validates uploaded certificates', async () => {
    const certs = client.admin.organization.certificates;
    const code = async (certificate: unknown): Promise<string | null | undefined> =>
      (await failure(certs.create({ certificate: certificate as string }))).code;
    expect(await code(expired)).toBe('expired_certificate');
    expect(await code(shortLived)).toBe('expired_certificate'); // expires within one day
    expect(await code(ca1.key)).toBe('mtls_certificate_invalid'); // a private key
    expect(await code(ca1.cert + ca2.cert)).toBe('mtls_certificate_invalid'); // two blocks
    expect(await code(ca1.cert + ca1.key)).toBe('mtls_certificate_invalid'); // certificate + key
    expect(await code('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n')).toBe('mtls_certificate_invalid');
    expect(await code('hello')).toBe('mtls_certificate_invalid');
    expect(await code(42)).toBe('mtls_certificate_invalid');
    expect(await code(`${'# padding\n'.repeat(1700)}${ca1.cert}`)).toBe('mtls_certificate_invalid'); // > 16384 bytes
    const e = await failure(certs.create({ certificate: expired }));
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e.param).toBe('certificate');
    expect(emu.certificates).toEqual([]);
    // Explanatory text around a single block is fine (RFC 7468).
    await certs.create({ certificate: `subject=CN = ca-1\n${ca1.cert}` });
    expect(emu.certificates).toHaveLength(1);
    expect(() => emu.addCertificate(expired)).toThrow(/expired/);
    expect(emu.addCertificate(expired, { skipValidation: true }).expires_at).toBe(Date.UTC(2020, 1, 1) / 1000);
  });

  it('enforces the 50-certificate limit', async () => {
    for (let i = 0; i < 50; i++) emu.addCertificate(ca1.cert);
    const e = await failure(client.admin.organization.certificates.create({ certificate: ca2.cert }));
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e.code).toBe('certificate_limit_exceeded');
    expect(e.message).toContain('50');
    await client.admin.organization.certificates.delete(emu.certificates[0]!.id);
    await client.admin.organization.certificates.create({ certificate: ca2.cert });
    expect(emu.certificates).toHaveLength(50);
  });

  it('rejects malformed ids, bad id lists, unknown projects and activation of expired certificates', async () => {
    const certs = client.admin.organization.certificates;
    const a = emu.addCertificate(ca1.cert);
    const none = await failure(certs.activate({ certificate_ids: [] }));
    expect([none.status, none.param]).toEqual([400, 'certificate_ids']);
    const eleven = Array.from({ length: 11 }, () => a.id);
    const tooMany = await failure(certs.deactivate({ certificate_ids: eleven }));
    expect([tooMany.status, tooMany.param]).toEqual([400, 'certificate_ids']);
    const malformed = await failure(certs.activate({ certificate_ids: ['abc'] }));
    expect([malformed.status, malformed.param]).toEqual([400, 'certificate_ids']);
    const badId = await failure(certs.retrieve('not-a-cert'));
    expect([badId.status, badId.param]).toEqual([400, 'certificate_id']);
    expect((await failure(certs.update('cert_with-dash', { name: 'x' }))).status).toBe(400);

    const unknownProject = await failure(client.admin.organization.projects.certificates.list('proj_nope'));
    expect(unknownProject).toBeInstanceOf(NotFoundError);
    expect((unknownProject.error as any).message).toBe("No project found with id 'proj_nope'.");
    const badProject = await failure(client.admin.organization.projects.certificates.activate('alpha', { certificate_ids: [a.id] }));
    expect([badProject.status, badProject.param]).toEqual([400, 'project_id']);

    a.expires_at = Math.floor(Date.now() / 1000) - 10; // live state is mutable
    const exp = await failure(certs.activate({ certificate_ids: [a.id] }));
    expect(exp.code).toBe('expired_certificate');
    expect(a.activeOrg).toBe(false);
  });

  it('checks requests strictly (raw HTTP)', async () => {
    const certPath = '/v1/organization/certificates';
    const unknownField = await raw(emu, 'POST', certPath, { body: JSON.stringify({ certificate: ca1.cert, foo: 1 }) });
    expect(unknownField.status).toBe(400);
    expectErrorShape(unknownField.json);
    expect(unknownField.json.error).toMatchObject({ param: 'foo', code: null, type: 'invalid_request_error' });
    expect(unknownField.json.error.message).toContain('foo');

    const unknownQuery = await raw(emu, 'GET', `${certPath}?limit=2&page=3`);
    expect([unknownQuery.status, unknownQuery.json.error.param]).toEqual([400, 'page']);
    const include = await raw(emu, 'GET', `${certPath}/cert_abc?include=content`);
    expect([include.status, include.json.error.param]).toEqual([400, 'include']);
    const badInclude = await raw(emu, 'GET', `${certPath}/cert_abc?include%5B%5D=private_key`);
    expect(badInclude.status).toBe(400);

    const badJson = await raw(emu, 'POST', certPath, { body: '{"certificate": ' });
    expect(badJson.status).toBe(400);
    expectErrorShape(badJson.json);
    const notObject = await raw(emu, 'POST', `${certPath}/activate`, { body: '["cert_abc"]' });
    expect(notObject.status).toBe(400);
    const wrongType = await raw(emu, 'POST', certPath, { body: JSON.stringify({ certificate: ca1.cert }), contentType: 'text/plain' });
    expect(wrongType.status).toBe(400);
    const bodyOnGet = await raw(emu, 'DELETE', `${certPath}/cert_abc`, { body: '{}' });
    expect(bodyOnGet.status).toBe(400);

    const unknownRoute = await raw(emu, 'GET', '/v1/organization/certificatez');
    expect(unknownRoute.status).toBe(404);
    expectErrorShape(unknownRoute.json);
    const wrongMethod = await raw(emu, 'PUT', certPath, { body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expect((await raw(emu, 'GET', `${certPath}/activate`)).status).toBe(405);

    const noAuth = await raw(emu, 'GET', certPath, { auth: null });
    expect(noAuth.status).toBe(401);
    expectErrorShape(noAuth.json);
    expect(noAuth.json.error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
    expect(noAuth.json.error.message).toMatch(/^Incorrect API key provided/);
    const wrongKey = await raw(emu, 'GET', certPath, { auth: 'Bearer sk-admin-wrong-key-123456' });
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.json.error.message).not.toContain('sk-admin-wrong-key-123456');

    for (const r of [unknownField, badJson, unknownRoute, wrongMethod, noAuth]) {
      expect(r.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]+$/);
    }
    const ok = await client.admin.organization.certificates.list().withResponse();
    expect(ok.response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(emu.requests.at(-1)?.body).toBeNull();

    const badClient = sdk(emu, { adminAPIKey: 'sk-admin-wrong' });
    const authErr = await failure(badClient.admin.organization.certificates.list());
    expect(authErr).toBeInstanceOf(AuthenticationError);
    expect(authErr.code).toBe('invalid_api_key');
    expect(authErr.requestID).toMatch(/^req_/);
  });

  it('applies status faults (429 with retry headers, 5xx) and then serves normally', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'GET', path: '/organization/certificates', headers: { 'retry-after-ms': '10' } });
    const rl = await failure(client.admin.organization.certificates.list());
    expect(rl).toBeInstanceOf(RateLimitError);
    expect(rl.code).toBe('rate_limit_exceeded');
    expect(rl.headers?.get('retry-after-ms')).toBe('10');
    expect(rl.requestID).toMatch(/^req_/);

    emu.addFault({ kind: 'status', status: 429, path: /certificates$/, times: 2, headers: { 'retry-after-ms': '10' } });
    const retrying = sdk(emu, { maxRetries: 2 });
    const page = await retrying.admin.organization.certificates.list();
    expect(page.data).toEqual([]);
    expect(emu.requests).toHaveLength(4); // 1 + 2 faulted + 1 served
    expect(emu.faults).toEqual([]);

    emu.addFault({ kind: 'status', status: 503, method: 'POST', code: 'overloaded', message: 'try later' });
    emu.addFault({ kind: 'status', status: 400, method: 'DELETE' }); // does not match the POST
    const e = await failure(client.admin.organization.certificates.create({ certificate: ca1.cert }));
    expect(e).toBeInstanceOf(InternalServerError);
    expect(e.status).toBe(503);
    expect(e.code).toBe('overloaded');
    expect(e.type).toBe('server_error');
    expect((e.error as any).message).toBe('try later');
    expect(emu.certificates).toEqual([]);
    expect(emu.faults).toHaveLength(1);
  });

  it('drop-before loses the request, drop-after performs it and loses the answer', async () => {
    emu.addFault({ kind: 'drop-before', method: 'POST', path: '/v1/organization/certificates' });
    const before = await failure(client.admin.organization.certificates.create({ certificate: ca1.cert }));
    expect(before).toBeInstanceOf(APIConnectionError);
    expect(emu.certificates).toHaveLength(0);

    emu.addFault({ kind: 'drop-after', method: 'POST', path: '/v1/organization/certificates' });
    const after = await failure(client.admin.organization.certificates.create({ certificate: ca1.cert, name: 'lost answer' }));
    expect(after).toBeInstanceOf(APIConnectionError);
    expect(after).not.toBeInstanceOf(APIConnectionTimeoutError);
    expect(emu.certificates.map((c) => c.name)).toEqual(['lost answer']); // stored though the client saw an error
    expect(emu.requests.map((r) => r.method)).toEqual(['POST', 'POST']);

    emu.addFault({ kind: 'drop-after', path: /\/activate$/ });
    const id = emu.certificates[0]!.id;
    await failure(client.admin.organization.certificates.activate({ certificate_ids: [id] }));
    expect(emu.activeIn('organization')).toEqual([id]);
  });

  it('hang never answers; the client times out and close() still terminates', async () => {
    emu.addFault({ kind: 'hang', method: 'GET' });
    const t0 = Date.now();
    const e = await failure(sdk(emu, { timeout: 200 }).admin.organization.certificates.list());
    expect(e).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - t0).toBeLessThan(2000);
    emu.addFault({ kind: 'hang' });
    const pending = fetch(`${emu.baseURL}/organization/certificates`).catch((err: unknown) => err);
    // Until the emulator holds it (a fixed 50 ms was too short for a busy machine: it closed before the request came).
    while (emu.requests.length < 2) await new Promise((r) => setTimeout(r, 10));
    const t1 = Date.now();
    await emu.close();
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error); // the hanging socket was destroyed
    expect(emu.requests).toHaveLength(2);
  });

  it('adds latency before answering', async () => {
    await start({ latencyMs: 500 });
    const t0 = Date.now();
    await client.admin.organization.certificates.list();
    const slow = Date.now() - t0;
    expect(slow).toBeGreaterThanOrEqual(490);
    emu.latencyMs = 0;
    const t1 = Date.now();
    await client.admin.organization.certificates.list();
    // Relative, so a loaded machine does not make it fail: the latency is what separates the two.
    expect(slow - (Date.now() - t1)).toBeGreaterThanOrEqual(300);
  });

  it('honours custom admin key and projects', async () => {
    await start({ adminKey: 'sk-admin-custom', projects: ['proj_one'] });
    const c = sdk(emu, { adminAPIKey: 'sk-admin-custom' });
    expect(await collect(c.admin.organization.projects.certificates.list('proj_one'))).toEqual([]);
    expect(await failure(c.admin.organization.projects.certificates.list('proj_alpha'))).toBeInstanceOf(NotFoundError);
    expect(await failure(client.admin.organization.certificates.list())).toBeInstanceOf(AuthenticationError);
  });

  it('enforceOrgMtlsOnPlainHost: after an organization-level activation, the plain host answers 403 mtls_required', async () => {
    await start({ enforceOrgMtlsOnPlainHost: true });
    const certs = client.admin.organization.certificates;
    const a = await certs.create({ certificate: ca1.cert });
    await client.admin.organization.projects.certificates.activate('proj_alpha', { certificate_ids: [a.id] }); // project-level: no effect
    await certs.list();
    await certs.activate({ certificate_ids: [a.id] });
    const e = await failure(certs.deactivate({ certificate_ids: [a.id] }));
    expect(e).toBeInstanceOf(PermissionDeniedError);
    expect(e.code).toBe('mtls_required');
    expect(e.message).toMatch(/client certificate is required on the mTLS host/);
    expect(emu.activeIn('organization')).toEqual([a.id]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Late commits, thin answers and x-should-retry
// ---------------------------------------------------------------------------------------------------

describe('emulator faults: late commits, thin answers, x-should-retry', () => {
  let emu: Emulator;
  let client: OpenAI;
  beforeEach(async () => {
    emu = await startEmulator();
    client = sdk(emu);
  });
  afterEach(() => emu.close());

  const uploads = (): RecordedRequest[] => emu.requests.filter((r) => r.method === 'POST' && r.path === '/v1/organization/certificates');

  it('late: the SDK times out, and the upload is stored after the delay all the same', async () => {
    emu.addFault({ kind: 'late', method: 'POST', path: '/organization/certificates', delayMs: 1000 });
    const certs = sdk(emu, { timeout: 300, maxRetries: 0 }).admin.organization.certificates;
    const e = await failure(certs.create({ certificate: ca1.cert, name: 'late' }));
    expect(e).toBeInstanceOf(APIConnectionTimeoutError);
    // Still held: the client has given up, the service has not committed yet.
    expect(await collect(client.admin.organization.certificates.list())).toEqual([]);
    await emu.settled();
    const received = uploads()[0]!.time;
    expect(Date.now() - received).toBeGreaterThanOrEqual(990);
    const listed = await collect(client.admin.organization.certificates.list());
    expect(listed.map((c) => c.name)).toEqual(['late']);
    // created_at is the commit time, not the time the request arrived.
    expect(listed[0]!.created_at).toBeGreaterThanOrEqual(Math.floor((received + 990) / 1000));
    expect(uploads()).toHaveLength(1);
    expect(emu.faults).toEqual([]);
    await emu.settled(); // nothing pending: resolves at once
  });

  it("late: the SDK's blind retry after a timeout stores a second copy", async () => {
    emu.addFault({ kind: 'late', method: 'POST', path: '/organization/certificates', delayMs: 700 });
    const certs = sdk(emu, { timeout: 300, maxRetries: 1 }).admin.organization.certificates;
    const created = await certs.create({ certificate: ca1.cert, name: 'twice' });
    await emu.settled();
    expect(uploads()).toHaveLength(2);
    expect(uploads()[1]!.body).toEqual(uploads()[0]!.body); // no idempotency: the same upload again
    expect(emu.certificates.map((c) => c.name)).toEqual(['twice', 'twice']);
    expect(new Set(emu.certificates.map((c) => c.id)).size).toBe(2);
    expect(emu.certificates.map((c) => c.id)).toContain(created.id);
  });

  it('late: close() with a commit pending resolves promptly and nothing is stored afterwards', async () => {
    emu.addFault({ kind: 'late', method: 'POST', delayMs: 1500 });
    const pending = client.admin.organization.certificates.create({ certificate: ca1.cert }).catch((err: unknown) => err);
    while (uploads().length === 0) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await emu.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await emu.settled(); // the cancelled commit is no longer pending
    expect(await pending).toBeInstanceOf(APIConnectionError);
    // Well past the moment the commit would have happened.
    const due = uploads()[0]!.time + 1500;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 500));
    expect(emu.certificates).toEqual([]);
  });

  it('late with until: every upload is held until the barrier settles, then all are stored at once', async () => {
    let open!: () => void;
    const barrier = new Promise<void>((resolve) => (open = resolve));
    emu.addFault({ kind: 'late', method: 'POST', path: '/organization/certificates', times: Infinity, delayMs: 60_000, until: barrier });
    const certs = client.admin.organization.certificates;
    const answered = Promise.all([0, 1, 2].map((i) => certs.create({ certificate: ca1.cert, name: `run ${i}` })));
    while (uploads().length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(emu.certificates).toHaveLength(0); // all three arrived, none stored yet
    open();
    const results = await answered; // long before the 60 s fallback
    expect(new Set(results.map((c) => c.id)).size).toBe(3);
    expect(emu.certificates).toHaveLength(3);
  });

  it('late with times: Infinity: concurrent uploads of the same PEM interleave and are all stored', async () => {
    emu.addFault({ kind: 'late', method: 'POST', path: '/organization/certificates', times: Infinity, delayMs: 400 });
    const certs = client.admin.organization.certificates;
    const requestsAtAnswer: number[] = [];
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        certs.create({ certificate: ca1.cert, name: `run ${i}` }).then((c) => {
          requestsAtAnswer.push(uploads().length);
          return c;
        }),
      ),
    );
    // All five were in flight together: the first answer came after the fifth request had arrived.
    expect(requestsAtAnswer[0]).toBe(5);
    // Identical PEMs are not refused: five certificates, five ids.
    expect(new Set(results.map((c) => c.id)).size).toBe(5);
    expect(emu.certificates).toHaveLength(5);
    const stored = emu.certificates.map((c) => c.id);
    expect(new Set(stored)).toEqual(new Set(results.map((c) => c.id)));
    // Equal delays: committed (created) in the order the requests arrived.
    expect(emu.certificates.map((c) => c.name)).toEqual(uploads().map((r) => (r.body as { name: string }).name));
    expect(emu.faults).toHaveLength(1); // the rule stays for later uploads

    const asc = await collect(certs.list({ order: 'asc' }));
    expect(asc.map((c) => c.id)).toEqual(stored);
    const times = asc.map((c) => c.created_at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((await collect(certs.list())).map((c) => c.id)).toEqual([...stored].reverse());
    // Ties on created_at (the usual case within one second) are ordered by creation, both ways.
    for (const c of emu.certificates) c.created_at = 1_700_000_000;
    expect((await collect(certs.list({ order: 'asc', limit: 2 }))).map((c) => c.id)).toEqual(stored);
    expect((await collect(certs.list({ limit: 2 }))).map((c) => c.id)).toEqual([...stored].reverse());
  });

  it('thin: answers without content, with replaced content, or lists without expires_at', async () => {
    const certs = client.admin.organization.certificates;
    const a = emu.addCertificate(ca1.cert, { name: 'a' });
    const b = emu.addCertificate(ca2.cert, { name: 'b' });
    const one = /^\/v1\/organization\/certificates\/cert_/;

    emu.addFault({ kind: 'thin', method: 'GET', path: one });
    const thin = await certs.retrieve(a.id, { include: ['content'] });
    expect(thin).toEqual({
      object: 'certificate',
      id: a.id,
      name: 'a',
      created_at: a.created_at,
      certificate_details: { valid_at: a.valid_at, expires_at: a.expires_at },
    });
    expect(emu.requests.at(-1)?.query).toEqual({ 'include[]': 'content' });

    emu.addFault({ kind: 'thin', method: 'GET', path: one, times: 2, replaceContent: 'not a certificate' });
    const replaced = await certs.retrieve(a.id, { include: ['content'] });
    expect(replaced.certificate_details).toEqual({ valid_at: a.valid_at, expires_at: a.expires_at, content: 'not a certificate' });
    const noContentAsked = await certs.retrieve(a.id); // replaced only where there is content
    expect(noContentAsked.certificate_details).toEqual({ valid_at: a.valid_at, expires_at: a.expires_at });
    const normal = await certs.retrieve(a.id, { include: ['content'] });
    expect(normal.certificate_details.content).toBe(ca1.cert.replace(/\n/g, ''));

    emu.addFault({ kind: 'thin', method: 'GET', path: '/organization/certificates', omit: ['expires_at'] });
    const page = await certs.list();
    expect(page.data.map((c) => c.id)).toEqual([b.id, a.id]);
    for (const c of page.data) expect(c.certificate_details).toEqual({ valid_at: expect.any(Number) });
    emu.addFault({ kind: 'thin', path: /\/projects\/[^/]+\/certificates$/, omit: ['valid_at', 'expires_at'] });
    const projectItems = await collect(client.admin.organization.projects.certificates.list('proj_alpha'));
    expect(projectItems.map((c) => c.certificate_details)).toEqual([{}, {}]);
    expect((await certs.list()).data[0]?.certificate_details.expires_at).toBe(b.expires_at); // consumed
    expect(emu.faults).toEqual([]);

    // The request is applied as usual, and an error answer is not thinned.
    emu.addFault({ kind: 'thin', method: 'POST', times: 2 });
    const renamed = await certs.update(a.id, { name: 'a2' });
    expect(renamed.certificate_details).toEqual({ valid_at: a.valid_at, expires_at: a.expires_at });
    expect(a.name).toBe('a2');
    const missing = await failure(certs.update('cert_missing', { name: 'x' }));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing.error as any).message).toBe("No certificate found with id 'cert_missing'.");
    expect(emu.faults).toEqual([]);
  });

  it('x-should-retry: the SDK obeys it over its own status rules', async () => {
    const retrying = sdk(emu, { maxRetries: 2 });
    emu.addFault({ kind: 'status', status: 500, method: 'GET', shouldRetry: false });
    const noRetry = await failure(retrying.admin.organization.certificates.list());
    expect(noRetry).toBeInstanceOf(InternalServerError);
    expect(noRetry.headers?.get('x-should-retry')).toBe('false');
    expect(emu.requests).toHaveLength(1); // a 500 is normally retried

    emu.addFault({ kind: 'status', status: 400, method: 'POST', shouldRetry: true, headers: { 'retry-after-ms': '10' } });
    const created = await retrying.admin.organization.certificates.create({ certificate: ca1.cert });
    expect(emu.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'POST']); // a 400 is normally final
    expect(emu.certificates.map((c) => c.id)).toEqual([created.id]);

    // Without shouldRetry, no header and the SDK's own rules.
    emu.addFault({ kind: 'status', status: 400, method: 'POST' });
    const final = await failure(retrying.admin.organization.certificates.create({ certificate: ca1.cert }));
    expect(final).toBeInstanceOf(BadRequestError);
    expect(final.headers?.get('x-should-retry')).toBeNull();
    expect(emu.requests).toHaveLength(4);
  });
});

// ---------------------------------------------------------------------------------------------------
// Project listing
// ---------------------------------------------------------------------------------------------------

describe('emulator project listing through the openai SDK', () => {
  let emu: Emulator | undefined;
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });

  it('lists the default projects as organization.project objects', async () => {
    emu = await startEmulator();
    const projects = await collect(sdk(emu).admin.organization.projects.list());
    expect(projects.map((p) => p.id)).toEqual(['proj_alpha', 'proj_beta', 'proj_gamma']);
    expect(projects[0]).toEqual({
      object: 'organization.project',
      id: 'proj_alpha',
      name: 'proj_alpha',
      created_at: expect.any(Number),
      archived_at: null,
      status: 'active',
    });
    const created = projects.map((p) => p.created_at);
    expect(created).toEqual([...created].sort((x, y) => x - y));
    expect(created[2]).toBeLessThan(Date.now() / 1000);
    expect(emu.requests).toMatchObject([{ method: 'GET', path: '/v1/organization/projects', query: {}, body: null }]);
  });

  it('pages through 230 projects with for await; archived ones only on request, their certificates still work', async () => {
    // 240 projects, mixed ids and objects; every 24th one archived (10), so 230 active.
    const defs: Array<string | ProjectDefinition> = Array.from({ length: 240 }, (_, i) => {
      const id = `proj_p${String(i).padStart(3, '0')}`;
      if (i % 24 === 5) return { id, name: `Project ${i}`, archived: true };
      return i % 2 === 0 ? id : { id, name: `Project ${i}` };
    });
    const ids = defs.map((d) => (typeof d === 'string' ? d : d.id));
    const activeIds = ids.filter((_, i) => i % 24 !== 5);
    emu = await startEmulator({ projects: defs });
    const client = sdk(emu);
    const projects = client.admin.organization.projects;

    const active = await collect(projects.list({ limit: 100 }));
    expect(active.map((p) => p.id)).toEqual(activeIds);
    expect(active.every((p) => p.status === 'active' && p.archived_at === null)).toBe(true);
    expect(active[0]?.name).toBe('proj_p000');
    expect(active[1]?.name).toBe('Project 1');
    expect(emu.requests.map((r) => r.query)).toEqual([
      { limit: '100' },
      { limit: '100', after: activeIds[99] },
      { limit: '100', after: activeIds[199] },
    ]);

    emu.requests.length = 0;
    const all = await collect(projects.list({ limit: 100, include_archived: true }));
    expect(all.map((p) => p.id)).toEqual(ids);
    expect(emu.requests.map((r) => r.query['include_archived'])).toEqual(['true', 'true', 'true']);
    const archived = all.filter((p) => p.status === 'archived');
    expect(archived.map((p) => p.id)).toEqual(ids.filter((_, i) => i % 24 === 5));
    expect(archived[0]).toEqual({
      object: 'organization.project',
      id: 'proj_p005',
      name: 'Project 5',
      created_at: expect.any(Number),
      archived_at: expect.any(Number),
      status: 'archived',
    });
    expect(archived[0]!.archived_at).toBeGreaterThanOrEqual(archived[0]!.created_at);

    // Default page size and the page fields, as the certificate lists give them.
    const first = await raw(emu, 'GET', '/v1/organization/projects');
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ object: 'list', first_id: 'proj_p000', last_id: activeIds[19], has_more: true });
    expect(first.json.data).toHaveLength(20);
    const explicit = await projects.list({ include_archived: false, limit: 5 });
    expect(explicit.data.map((p) => p.id)).toEqual(activeIds.slice(0, 5));
    const last = await raw(emu, 'GET', `/v1/organization/projects?after=${ids[238]}`);
    expect(last.json).toMatchObject({ data: [{ id: 'proj_p239' }], first_id: 'proj_p239', last_id: 'proj_p239', has_more: false });
    const afterArchived = await projects.list({ after: 'proj_p005', limit: 2 }); // an archived id still works as a cursor
    expect(afterArchived.data.map((p) => p.id)).toEqual(['proj_p006', 'proj_p007']);

    // An archived project's certificate endpoints keep working.
    const c = emu.addCertificate(ca1.cert);
    await projects.certificates.activate('proj_p005', { certificate_ids: [c.id] });
    expect(emu.activeIn('proj_p005')).toEqual([c.id]);
    expect((await collect(projects.certificates.list('proj_p005'))).map((x) => [x.id, x.active])).toEqual([[c.id, true]]);
  });

  it('checks the project list query strictly', async () => {
    emu = await startEmulator({ projects: ['proj_a1', { id: 'proj_b2', archived: true }] });
    const projects = sdk(emu).admin.organization.projects;
    for (const limit of [0, 101, 2.5]) {
      const e = await failure(projects.list({ limit }));
      expect(e).toBeInstanceOf(BadRequestError);
      expect(e.param).toBe('limit');
    }
    const unknownAfter = await failure(projects.list({ after: 'proj_missing' }));
    expect(unknownAfter).toBeInstanceOf(NotFoundError);
    expect([unknownAfter.param, (unknownAfter.error as any).message]).toEqual(['after', "No project found with id 'proj_missing'."]);
    const badAfter = await failure(projects.list({ after: 'cert_abc' }));
    expect([badAfter.status, badAfter.param]).toEqual([400, 'after']);

    const path = '/v1/organization/projects';
    const badLimit = await raw(emu, 'GET', `${path}?limit=abc`);
    expect([badLimit.status, badLimit.json.error.param]).toEqual([400, 'limit']);
    expectErrorShape(badLimit.json);
    const badArchived = await raw(emu, 'GET', `${path}?include_archived=yes`);
    expect([badArchived.status, badArchived.json.error.param]).toEqual([400, 'include_archived']);
    const twice = await raw(emu, 'GET', `${path}?include_archived=true&include_archived=false`);
    expect(twice.status).toBe(400);
    const unknownQuery = await raw(emu, 'GET', `${path}?order=asc`);
    expect([unknownQuery.status, unknownQuery.json.error.param]).toEqual([400, 'order']);
    const post = await raw(emu, 'POST', path, { body: '{"name":"x"}' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
    expect((await raw(emu, 'GET', path, { auth: null })).status).toBe(401);

    expect((await projects.list()).data.map((p) => p.id)).toEqual(['proj_a1']);
    const empty = await startEmulator({ projects: [] });
    try {
      const page = await raw(empty, 'GET', path);
      expect(page.json).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
      expect(await collect(sdk(empty).admin.organization.projects.list())).toEqual([]);
    } finally {
      await empty.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// HTTPS emulator: mutual TLS host
// ---------------------------------------------------------------------------------------------------

describe('emulator (HTTPS) as an mTLS host', () => {
  let emu: Emulator;
  afterEach(() => emu.close());

  it('accepts only client certificates chaining to a CA active at organization level', async () => {
    emu = await startEmulator({ tls: { key: server.key, cert: server.cert }, requireClientCertificate: true });
    expect(emu.baseURL).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const caA = emu.addCertificate(ca1.cert, { name: 'ca-1', activeOrg: true });
    const caB = emu.addCertificate(ca2.cert, { name: 'ca-2', activeProjects: ['proj_alpha'] }); // project-level only

    const path = '/v1/organization/certificates';
    const ok = await httpsGet(emu, path, client1);
    expect(ok.status).toBe(200);
    expect(ok.json.data).toHaveLength(2);
    expect(emu.requests.at(-1)?.clientCertSubject).toBe('CN=client-1');

    const noCert = await httpsGet(emu, path, {});
    expect(noCert.status).toBe(401);
    expectErrorShape(noCert.json);
    expect(noCert.json.error.code).toBe('mtls_client_certificate_required');
    expect(emu.requests.at(-1)?.clientCertSubject).toBeUndefined();
    const otherCa = await httpsGet(emu, path, client2);
    expect([otherCa.status, otherCa.json.error.code]).toEqual([401, 'mtls_client_certificate_required']);
    const caAsClient = await httpsGet(emu, path, ca2); // ca-2 is self-signed but inactive at organization level
    expect(caAsClient.status).toBe(401);

    // The SDK itself, with a client certificate, through a node:https fetch.
    const sdk1 = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      fetch: httpsFetch({ ca: server.cert, cert: client1.cert, key: client1.key }),
    });
    const sdk2 = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      fetch: httpsFetch({ ca: server.cert, cert: client2.cert, key: client2.key }),
    });
    const sdkNoCert = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      fetch: httpsFetch({ ca: server.cert }),
    });
    const noCertErr = await failure(sdkNoCert.admin.organization.certificates.list());
    expect(noCertErr).toBeInstanceOf(AuthenticationError);
    expect(noCertErr.code).toBe('mtls_client_certificate_required');
    expect(await failure(sdk2.admin.organization.certificates.list())).toBeInstanceOf(AuthenticationError);

    // Rotation: activate ca-2 with client-1, then retire ca-1 with client-2.
    await sdk1.admin.organization.certificates.activate({ certificate_ids: [caB.id] });
    expect((await collect(sdk2.admin.organization.certificates.list())).map((c) => c.active)).toEqual([true, true]);
    await sdk2.admin.organization.certificates.deactivate({ certificate_ids: [caA.id] });
    expect((await failure(sdk1.admin.organization.certificates.list())).code).toBe('mtls_client_certificate_required');
    expect(emu.activeIn('organization')).toEqual([caB.id]);
  });

  it('serves plain HTTPS without a client certificate when not required', async () => {
    emu = await startEmulator({ tls: { key: server.key, cert: server.cert } });
    const c = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      fetch: httpsFetch({ ca: server.cert }),
    });
    const created = await c.admin.organization.certificates.create({ certificate: ca1.cert, name: 'over tls' });
    expect((await c.admin.organization.certificates.retrieve(created.id, { include: ['content'] })).certificate_details.content).toBe(
      ca1.cert.replace(/\n/g, ''),
    );
    expect(emu.requests.every((r) => r.clientCertSubject === undefined)).toBe(true);
  });
});
