import OpenAI, { BadRequestError, InternalServerError, RateLimitError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.ts';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.ts';
import { ActionError } from '../../src/errors.ts';
import type { RetryOptions } from '../../src/rotation/retry.ts';
import { uploadOnce, type Upload } from '../../src/rotation/upload.ts';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa } from '../helpers/certs.ts';
import type { ListedCertificate } from '../../src/api/reader.ts';

const UPLOAD = '/organization/certificates';
const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('uploadOnce against the emulator, through the SDK', () => {
  let emu: Emulator;
  let api: CertificateApi;
  let certificate: CertificateInfo;
  let delays: number[];
  let lines: string[];
  let warnings: string[];

  const client = (options: { maxRetries?: number; timeout?: number } = {}): CertificateApi =>
    new CertificateApi(
      new OpenAI({
        adminAPIKey: DEFAULT_ADMIN_KEY,
        apiKey: null,
        baseURL: emu.baseURL,
        maxRetries: options.maxRetries ?? 0,
        timeout: options.timeout ?? 2000,
        logLevel: 'off',
      }),
      emu.baseURL,
    );
  const retry = (maxRetries: number, extra: Partial<RetryOptions> = {}): RetryOptions => ({
    maxRetries,
    sleep: async (ms) => void delays.push(ms),
    random: () => 0.5,
    log: (line) => void lines.push(line),
    now: Date.now,
    ...extra,
  });
  const upload = (
    maxRetries: number,
    extra: Partial<RetryOptions> = {},
    name: string | null = 'corp-ca',
    before: string[] = [],
  ): Promise<Upload> =>
    uploadOnce(api, certificate, name ?? undefined, new Set(before), {
      retry: retry(maxRetries, extra),
      log: (line) => void lines.push(line),
      warning: (line) => void warnings.push(line),
    });
  const calls = (): string[] =>
    emu.requests.map((r) => `${r.method} ${r.path.replace(/cert_\w+/, 'cert_*')}${r.query['include[]'] ? '?content' : ''}`);
  const uploads = (): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;

  beforeEach(async () => {
    emu = await startEmulator();
    api = client();
    certificate = inspectCertificate(makeCa({ cn: 'Unit CA' }).der);
    delays = [];
    lines = [];
    warnings = [];
  });
  afterEach(async () => {
    await emu.close();
  });

  it('a plain upload makes three requests (upload, then the list that converges), reads no content and never sleeps', async () => {
    const result = await upload(3);
    expect(result).toMatchObject({ uploaded: true, attempts: 1, removed: [], leftOver: [] });
    expect(result.certificate).toMatchObject({ id: emu.certificates[0]!.id, name: 'corp-ca' });
    expect(emu.certificates).toHaveLength(1);
    expect(calls()).toEqual(['POST /v1/organization/certificates', 'GET /v1/organization/certificates']);
    expect(emu.requests[0]!.body).toEqual({ certificate: certificate.pem, name: 'corp-ca' });
    expect(emu.requests[1]!.query).toEqual({ limit: '100', order: 'asc' });
    expect(delays).toEqual([]);
  });

  it('sends no name when there is none', async () => {
    await upload(0, {}, null);
    expect(emu.requests[0]!.body).toEqual({ certificate: certificate.pem });
  });

  it('waits as Retry-After says on 429, without looking (nothing was stored), and succeeds', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: 2, headers: { 'Retry-After': '2' } });
    const result = await upload(3);
    expect(result.attempts).toBe(3);
    expect(delays).toEqual([2000, 2000]);
    expect(calls()).toEqual([...Array(3).fill('POST /v1/organization/certificates'), 'GET /v1/organization/certificates']);
    expect(emu.certificates).toHaveLength(1);
  });

  it('honours retry-after-ms', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, headers: { 'retry-after-ms': '10' } });
    await upload(1);
    expect(delays).toEqual([10]);
  });

  it('after a 500: waits the back-off first, then looks, then uploads again', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    const events: string[] = [];
    const result = await upload(3, { sleep: async (ms) => void events.push(`sleep ${ms} after ${emu.requests.length} requests`) });
    expect(result).toMatchObject({ attempts: 2, uploaded: true });
    expect(events).toEqual(['sleep 750 after 1 requests']);
    expect(calls()).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
    ]);
    expect(emu.certificates).toHaveLength(1);
    expect(lines[0]).toBe(
      'Attempt 1 to upload the certificate failed (HTTP 500), which does not tell whether it took effect; checking in 0.8 s (3 retries left).',
    );
    expect(lines[1]).toBe('The organization holds no copy of it yet.');
  });

  it('backs off exponentially with jitter when the server gives no Retry-After', async () => {
    emu.addFault({ kind: 'status', status: 503, method: 'POST', path: UPLOAD, times: 3 });
    let r = 0;
    const randoms = [0, 0.999999, 0.5];
    await upload(3, { random: () => randoms[r++] ?? 0 });
    expect(delays).toEqual([500, 2000, 3000]);
    expect(emu.certificates).toHaveLength(1);
  });

  it('a connection dropped before the upload was applied: looks, finds nothing, uploads again (one certificate)', async () => {
    emu.addFault({ kind: 'drop-before', method: 'POST', path: UPLOAD });
    const result = await upload(3);
    expect(result).toMatchObject({ attempts: 2, uploaded: true });
    expect(emu.certificates).toHaveLength(1);
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(lines.join('\n')).toMatch(/Attempt 1 to upload the certificate failed \(connection failed\)/);
  });

  it('the answer lost after the upload was stored: finds it after the back-off, reads its content, uploads nothing more', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    const result = await upload(3);
    expect(emu.certificates).toHaveLength(1);
    expect(result).toMatchObject({ attempts: 1, uploaded: true });
    expect(result.certificate).toMatchObject({ id: emu.certificates[0]!.id, name: 'corp-ca' });
    expect(uploads()).toBe(1);
    expect(delays).toEqual([750]);
    // No id came back, so the copy found is compared by content.
    expect(calls()).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
      'GET /v1/organization/certificates/cert_*?content',
    ]);
    expect(lines.join('\n')).toContain(`It was stored: ${result.certificate.id} holds this certificate, so it is not uploaded again.`);
  });

  it('a late commit (stored after the client gave up): the look after the back-off finds it, one copy', async () => {
    api = client({ timeout: 300 });
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 700 });
    const result = await upload(3, { sleep: realSleep });
    await emu.settled();
    expect(emu.certificates).toHaveLength(1);
    expect(uploads()).toBe(1);
    expect(result).toMatchObject({ uploaded: true, attempts: 1 });
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
  });

  it('a late commit that lands after the look: the retry converges on the older, late copy and deletes its own', async () => {
    // Attempt 1 times out at 1.5 s and is stored at 2 s; the look runs at once (no back-off here) and
    // misses it; attempt 2 is held 1 s, so it is stored after the late copy, and answered in time.
    api = client({ timeout: 1500 });
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 2000 });
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 1000 });
    const result = await upload(3, { sleep: async () => undefined });
    await emu.settled();
    expect(uploads()).toBe(2);
    expect(emu.certificates).toHaveLength(1);
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(result.removed).toHaveLength(1);
    expect(result.removed[0]).not.toBe(result.certificate.id);
    // The kept copy may be this run's own late attempt: it counts as this run's upload.
    expect(result.uploaded).toBe(true);
    expect(lines.join('\n')).toMatch(/by this run's attempt whose answer was lost, or by a run racing this one/);
  });

  it('runs racing each other with the same CA end on one copy, the oldest, and only its uploader says uploaded', async () => {
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 300, times: Infinity });
    const apis = Array.from({ length: 5 }, () => client());
    const results = await Promise.all(
      apis.map((racer) =>
        uploadOnce(racer, certificate, 'corp-ca', new Set(), {
          retry: retry(3),
          log: (l) => void lines.push(l),
          warning: (l) => void warnings.push(l),
        }),
      ),
    );
    expect(emu.certificates).toHaveLength(1);
    const kept = emu.certificates[0]!.id;
    expect(results.map((r) => r.certificate.id)).toEqual(Array(5).fill(kept));
    expect(results.filter((r) => r.uploaded)).toHaveLength(1);
    expect(results.flatMap((r) => r.removed)).toHaveLength(4);
    expect(warnings).toEqual([]);
    // Each run deleted only its own copy.
    const deletes = emu.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(new Set(deletes).size).toBe(4);
    expect(deletes).not.toContain(kept);
  });

  it("never takes an older identical certificate (there before the plan) for this run's upload", async () => {
    const older = emu.addCertificate(certificate.pem, { name: 'older', createdAt: Math.floor(Date.now() / 1000) - 3600 });
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    const result = await upload(3, {}, 'new', [older.id]);
    expect(result.certificate.id).not.toBe(older.id);
    expect(result.certificate.name).toBe('new');
    expect(emu.certificates).toHaveLength(2);
    expect(emu.requests.some((r) => r.path.endsWith(older.id))).toBe(false);
  });

  it('with an older identical certificate and an upload that was not applied: uploads again, and still reports the new one', async () => {
    const older = emu.addCertificate(certificate.pem, { name: 'older', createdAt: Math.floor(Date.now() / 1000) - 3600 });
    emu.addFault({ kind: 'drop-before', method: 'POST', path: UPLOAD });
    const result = await upload(3, {}, 'new', [older.id]);
    expect(result.certificate.id).not.toBe(older.id);
    expect(result).toMatchObject({ uploaded: true, attempts: 2 });
    expect(emu.certificates.map((c) => c.name)).toEqual(['older', 'new']);
  });

  it('a copy whose content the API does not give (a thin answer) stops the run: nothing is decided on a guess', async () => {
    // Another run's copy, older than this run's, appears after the plan; its content comes back empty.
    const other = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: Math.floor(Date.now() / 1000) - 5 });
    emu.addFault({ kind: 'thin', method: 'GET', path: new RegExp(`/certificates/${other.id}$`) });
    const error = (await upload(3).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      new RegExp(
        `^Uploaded cert_\\w+, but could not tell whether ${other.id} \\("corp-ca"\\) is this certificate: the API returned no content for it`,
      ),
    );
    expect(error.hint).toMatch(/run the action again/);
  });

  it('a hanging upload: each attempt is checked for after its back-off; when the retries run out it is not known, and the message says so', async () => {
    api = client({ timeout: 300 });
    emu.addFault({ kind: 'hang', method: 'POST', path: UPLOAD, times: Infinity });
    const error = (await upload(2).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toContain(
      `Could not upload the certificate: ${new URL(emu.baseURL).host} did not answer within 0.3 s (timeout-seconds).`,
    );
    expect(error.message).toContain('The action tried 3 times. It is not known whether the certificate was stored');
    expect(error.message).toContain(`look in the organization for a certificate with fingerprint ${certificate.fingerprint}`);
    expect(error.message).not.toMatch(/does not hold/);
    expect(error.hint).toMatch(/timeout-seconds/);
    expect(uploads()).toBe(3);
    expect(delays).toEqual([750, 1500, 3000]);
    expect(emu.certificates).toHaveLength(0);
  });

  it('never uploads twice when the look after a lost answer fails: says so and stops', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    emu.addFault({ kind: 'status', status: 500, method: 'GET', path: UPLOAD });
    const error = (await upload(3).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(/^Could not list the certificates of the organization: the API answered 500/);
    expect(error.message).toMatch(/request id req_[0-9a-f]+/);
    expect(error.message).toMatch(/not known whether the certificate was stored; it was not uploaded again, to avoid a duplicate/);
    expect(error.hint).toMatch(/run the action again/);
    expect(uploads()).toBe(1);
    expect(emu.certificates).toHaveLength(1);
  });

  it('gives up after max-retries with the API error explained, the request id and the number of attempts', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: Infinity, headers: { 'Retry-After': '1' } });
    const error = (await upload(2).catch((e: unknown) => e)) as ActionError;
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 429 rate_limit_exceeded: ".*" \(request id req_[0-9a-f]+\)\. The action tried 3 times\.$/,
    );
    expect(error.hint).toMatch(/max-retries/);
    expect(error.cause).toBeInstanceOf(RateLimitError);
    expect(delays).toEqual([1000, 1000]);
    expect(uploads()).toBe(3);
  });

  it('with max-retries 0 and a 500: tries once, looks once after the back-off, and says it is not known', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    const error = (await upload(0).catch((e: unknown) => e)) as ActionError;
    expect(error.message).toMatch(/answered 500.*The action tried 1 time\. It is not known whether the certificate was stored/);
    expect(error.cause).toBeInstanceOf(InternalServerError);
    expect(uploads()).toBe(1);
    expect(delays).toEqual([750]);
  });

  it('x-should-retry: false on a 500 is obeyed (no second upload), after one look', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD, shouldRetry: false });
    const error = (await upload(3).catch((e: unknown) => e)) as ActionError;
    expect(error.message).toMatch(/The action tried 1 time\. It is not known/);
    expect(uploads()).toBe(1);
    expect(calls()).toEqual(['POST /v1/organization/certificates', 'GET /v1/organization/certificates']);
  });

  it('does not retry a refusal that retrying cannot fix, and does not look', async () => {
    emu.addFault({
      kind: 'status',
      status: 400,
      code: 'mtls_certificate_invalid',
      message: 'The certificate is not a CA.',
      method: 'POST',
      path: UPLOAD,
    });
    const error = (await upload(3).catch((e: unknown) => e)) as ActionError;
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 400 mtls_certificate_invalid: "The certificate is not a CA\." \(request id req_/,
    );
    expect(error.cause).toBeInstanceOf(BadRequestError);
    expect(calls()).toEqual(['POST /v1/organization/certificates']);
    expect(delays).toEqual([]);
  });

  it('the SDK does not retry the upload itself, even on a client with retries', async () => {
    api = client({ maxRetries: 5 });
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    await upload(0).catch(() => undefined);
    expect(uploads()).toBe(1);
  });
});

describe('uploadOnce: what it says and returns, and the order it reads', () => {
  let emu: Emulator;
  let api: CertificateApi;
  let lines: string[];
  let warnings: string[];
  let certificate: CertificateInfo;
  const retry: RetryOptions = {
    maxRetries: 2,
    sleep: async () => undefined,
    random: () => 0.5,
    log: (l) => void lines.push(l),
    now: Date.now,
  };
  const run = (before: string[] = [], target: CertificateApi = api): Promise<Upload> =>
    uploadOnce(target, certificate, 'corp-ca', new Set(before), {
      retry,
      log: (l) => void lines.push(l),
      warning: (l) => void warnings.push(l),
    });
  const now = (): number => Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    emu = await startEmulator();
    api = new CertificateApi(
      new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL: emu.baseURL, maxRetries: 0, logLevel: 'off' }),
      emu.baseURL,
    );
    lines = [];
    warnings = [];
    certificate = inspectCertificate(makeCa({ cn: 'Said CA' }).der);
  });
  afterEach(async () => {
    await emu.close();
  });

  it('says how many attempts an upload took, only when it took more than one', async () => {
    await run();
    expect(lines).toEqual([`Uploaded ${emu.certificates[0]!.id}.`]);
    lines = [];
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD });
    const second = await run([emu.certificates[0]!.id]);
    expect(lines.at(-1)).toBe(`Uploaded ${second.certificate.id} (after 2 attempts).`);
  });

  it('the copy recovered after a lost answer comes with nothing removed and nothing left over', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    expect(await run()).toEqual({
      certificate: expect.objectContaining({ id: emu.certificates[0]!.id }),
      uploaded: true,
      attempts: 1,
      removed: [],
      leftOver: [],
    });
  });

  it("a racing run's older copy is kept: this run's copy is deleted, said, and returned as removed", async () => {
    const racer = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: now() - 5 });
    const result = await run();
    const own = emu.requests
      .find((r) => r.method === 'DELETE')!
      .path.split('/')
      .pop()!;
    expect(result).toEqual({
      certificate: expect.objectContaining({ id: racer.id }),
      uploaded: false,
      attempts: 1,
      removed: [own],
      leftOver: [],
    });
    expect(lines.at(-1)).toBe(`Deleted ${own}, this run's duplicate.`);
    expect(warnings).toEqual([]);
  });

  it('a duplicate that cannot be deleted is left over, with a warning naming both copies', async () => {
    const racer = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: now() - 5 });
    emu.addFault({ kind: 'status', status: 400, method: 'DELETE', code: 'invalid_request', message: 'No.' });
    const result = await run();
    const own = emu.certificates.find((c) => c.id !== racer.id)!.id;
    expect(result).toMatchObject({ certificate: { id: racer.id }, removed: [], leftOver: [own] });
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${own}, this run's duplicate of ${racer.id}, could not be deleted \\(Could not delete certificate ${own}: .*\\)\\. It is inactive everywhere; delete it in the dashboard\\.$`,
        ),
      ),
    ]);
  });

  it('reads the content only of new certificates with the same validity dates, and skips those that differ', async () => {
    // Two other CAs appear since the plan: one with other dates, one with the same dates but another key.
    const from = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
    const to = new Date(from.getTime() + 400 * 86_400_000);
    certificate = inspectCertificate((await makeDatedCa(from, to, 'Mine')).der);
    const otherDates = emu.addCertificate(makeCa({ cn: 'Other dates', days: 100 }).pem, { createdAt: now() - 20 });
    const sameDates = emu.addCertificate((await makeDatedCa(from, to, 'Same dates')).pem, { createdAt: now() - 10 });
    const result = await run();
    expect(result).toMatchObject({ uploaded: true, removed: [] });
    expect(result.certificate.id).not.toBe(sameDates.id);
    const read = emu.requests.filter((r) => r.query['include[]'] === 'content').map((r) => r.path.split('/').pop());
    expect(read).toEqual([sameDates.id]);
    expect(read).not.toContain(otherDates.id);
    expect(emu.certificates).toHaveLength(3);
  });
});

describe('uploadOnce: the oldest copy by created_at, whatever order the list gives', () => {
  const stored = (id: string, createdAt: number): ListedCertificate => ({
    id,
    name: 'corp-ca',
    createdAt,
    validAt: undefined,
    expiresAt: undefined,
    active: false,
  });

  /** An API with a fixed organization list (in the order given) and every certificate identical. */
  function fakeApi(certificate: CertificateInfo, list: () => ListedCertificate[], created: ListedCertificate): CertificateApi {
    const fake = {
      host: 'api.example.test',
      create: async () => ({ ...created, content: certificate.pem }),
      listScope: async () => list(),
      retrieve: async (id: string) => ({ ...list().find((c) => c.id === id)!, content: certificate.pem }),
      delete: async () => undefined,
      toggle: async () => undefined,
    };
    return fake as unknown as CertificateApi;
  }
  const options = {
    retry: { maxRetries: 0, sleep: async () => undefined, random: () => 0.5, log: () => undefined, now: Date.now },
    log: () => undefined,
    warning: () => undefined,
  };

  it('a list out of order: the copy created first is kept; within a second, the one listed first', async () => {
    const certificate = inspectCertificate(makeCa({ cn: 'Ordered CA' }).der);
    const own = stored('cert_own', 1000);
    const cases: Array<[ListedCertificate[], string]> = [
      [[own, stored('cert_later', 1001), stored('cert_first', 998), stored('cert_second', 999)], 'cert_first'],
      [[stored('cert_b', 999), own, stored('cert_a', 999)], 'cert_b'],
      [[stored('cert_x', 1000), own], 'cert_x'],
    ];
    for (const [list, kept] of cases) {
      const result = await uploadOnce(
        fakeApi(certificate, () => list, own),
        certificate,
        'corp-ca',
        new Set(),
        options,
      );
      expect(result.certificate.id).toBe(kept);
    }
  });

  it('a failure to look that is not an API error is still explained as a failure to look for the upload', async () => {
    const certificate = inspectCertificate(makeCa({ cn: 'Bug CA' }).der);
    const own = stored('cert_own', 1000);
    const api = fakeApi(
      certificate,
      () => {
        throw new Error('boom');
      },
      own,
    );
    const error = (await uploadOnce(api, certificate, 'corp-ca', new Set(), options).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toBe(
      'Uploaded cert_own, but could not look for the uploaded certificate: boom So it is not known whether a run racing this one stored an older copy; nothing was activated.',
    );
    expect(error.title).toBe('api');
  });
});
