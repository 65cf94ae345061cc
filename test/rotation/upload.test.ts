import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CertificateApi } from '../../src/api/certificates.ts';
import { ApiError } from '../../src/api/errors.ts';
import type { ListedCertificate, StoredCertificate } from '../../src/api/reader.ts';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.ts';
import { ActionError } from '../../src/errors.ts';
import { hintFor } from '../../src/inputs/hints.ts';
import { Journal } from '../../src/rotation/journal.ts';
import type { RetryPolicy } from '../../src/rotation/retry.ts';
import { settleReuse, uploadOnce, type Upload } from '../../src/rotation/upload.ts';
import type { WriteContext } from '../../src/rotation/writes.ts';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { startGateway } from '../helpers/gateway.ts';
import { recordingLogger, type RecordingLogger } from '../helpers/logger.ts';
import { sdkApi } from '../helpers/sdk.ts';

const UPLOAD = '/organization/certificates';
const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const now = (): number => Math.floor(Date.now() / 1000);

let unitCa: MadeCertificate;
let saidCa: MadeCertificate;
let otherDatesCa: MadeCertificate;
let mineDated: MadeCertificate;
let sameDatesOther: MadeCertificate;
let filler: MadeCertificate;
beforeAll(async () => {
  unitCa = makeCa({ cn: 'Unit CA' });
  saidCa = makeCa({ cn: 'Said CA' });
  otherDatesCa = makeCa({ cn: 'Other dates', days: 100 });
  filler = makeCa({ cn: 'Filler', days: 200 });
  const from = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
  const to = new Date(from.getTime() + 400 * 86_400_000);
  mineDated = await makeDatedCa(from, to, 'Mine');
  sameDatesOther = await makeDatedCa(from, to, 'Same dates');
});

/** An inactive corp-ca certificate as a list gives it, with undated validity. */
const listed = (id: string, createdAt: number): ListedCertificate => ({
  id,
  name: 'corp-ca',
  createdAt,
  validAt: null,
  expiresAt: null,
  active: false,
});

describe('uploadOnce against the emulator, through the SDK', () => {
  let emu: Emulator;
  let api: CertificateApi;
  let certificate: CertificateInfo;
  let delays: number[];
  let log: RecordingLogger;
  let journal: Journal;

  const client = (options: { maxRetries?: number; timeout?: number } = {}): CertificateApi =>
    sdkApi(emu.baseURL, { maxRetries: options.maxRetries ?? 0, timeout: options.timeout ?? 2000 });
  const retry = (maxRetries: number, extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
    maxRetries,
    sleep: async (ms) => void delays.push(ms),
    random: () => 0.5,
    ...extra,
  });
  const context = (maxRetries: number, extra: Partial<RetryPolicy> = {}, target: CertificateApi = api): WriteContext => ({
    api: target,
    retry: retry(maxRetries, extra),
    log,
    journal,
  });
  const upload = (
    maxRetries: number,
    extra: Partial<RetryPolicy> = {},
    name: string | null = 'corp-ca',
    before: string[] = [],
  ): Promise<Upload> => uploadOnce({ certificate, name: name ?? undefined, before }, context(maxRetries, extra));
  const calls = (): string[] =>
    emu.requests.map((r) => `${r.method} ${r.path.replace(/cert_\w+/, 'cert_*')}${r.query['include[]'] ? '?content' : ''}`);
  const uploads = (): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;

  beforeEach(async () => {
    // The API's Date a few seconds ahead of its created_at: every copy's second has passed by the first answer,
    // so no run waits for it (the wait itself is tested below, with the clocks together).
    emu = await startEmulator({ clockOffsetMs: 5000 });
    api = client();
    certificate = inspectCertificate(unitCa.der);
    delays = [];
    log = recordingLogger();
    journal = new Journal();
  });
  afterEach(async () => {
    await emu.close();
  });

  it('a plain upload makes two requests (upload, then the list that converges), reads no content and never sleeps', async () => {
    const result = await upload(3);
    expect(result).toMatchObject({ uploaded: true, lostAnswer: false });
    expect(result.certificate).toMatchObject({ id: emu.certificates[0]!.id, name: 'corp-ca' });
    expect(emu.certificates).toHaveLength(1);
    expect(calls()).toEqual(['POST /v1/organization/certificates', 'GET /v1/organization/certificates']);
    expect(emu.requests[0]!.body).toEqual({ certificate: certificate.pem, name: 'corp-ca' });
    expect(emu.requests[1]!.query).toEqual({ limit: '100', order: 'asc' });
    expect(delays).toEqual([]);
    expect(journal).toMatchObject({ duplicates: [], cautions: [] });
  });

  it("waits for the API's clock to leave the second its copy was stored in before it looks, so racing runs agree", async () => {
    emu.clockOffsetMs = 0;
    const result = await upload(3);
    expect(result).toMatchObject({ uploaded: true });
    expect(calls()).toEqual(['POST /v1/organization/certificates', 'GET /v1/organization/certificates']);
    // One wait of at most a second, before the list (unless the upload's answer came in a later second).
    expect(delays.length).toBeLessThanOrEqual(1);
    for (const ms of delays) expect(ms).toBeLessThanOrEqual(1000);
  });

  it('sends no name when there is none', async () => {
    await upload(0, {}, null);
    expect(emu.requests[0]!.body).toEqual({ certificate: certificate.pem });
  });

  it('waits as Retry-After says on 429, without looking (nothing was stored), and succeeds', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: 2, headers: { 'Retry-After': '2' } });
    const result = await upload(3);
    expect(result).toMatchObject({ uploaded: true, lostAnswer: false });
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
    expect(result).toMatchObject({ uploaded: true });
    expect(uploads()).toBe(2);
    expect(events).toEqual(['sleep 750 after 1 requests']);
    expect(calls()).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
    ]);
    expect(emu.certificates).toHaveLength(1);
    expect(log.infos[0]).toBe(
      'Attempt 1 to upload the certificate failed (HTTP 500), which does not tell whether it took effect; checking in 0.8 s (3 retries left).',
    );
    expect(log.infos[1]).toBe('The organization holds no copy of it yet.');
    expect(log.infos.at(-1)).toBe(`Uploaded ${result.certificate.id} (after 2 attempts).`);
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
    expect(result).toMatchObject({ uploaded: true });
    expect(uploads()).toBe(2);
    expect(emu.certificates).toHaveLength(1);
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(log.infos.join('\n')).toMatch(/Attempt 1 to upload the certificate failed \(connection failed\)/);
  });

  it('the answer lost after the upload was stored: finds it after the back-off, reads its content, uploads nothing more, and does not claim it', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    const result = await upload(3);
    expect(emu.certificates).toHaveLength(1);
    // No id came back to this run: the copy may be its own late commit or a racing run's.
    expect(result).toMatchObject({ uploaded: false, lostAnswer: true });
    expect(result.certificate).toMatchObject({ id: emu.certificates[0]!.id, name: 'corp-ca' });
    expect(uploads()).toBe(1);
    expect(delays).toEqual([750]);
    // No id came back, so the copy found is compared by content.
    expect(calls()).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
      'GET /v1/organization/certificates/cert_*?content',
    ]);
    expect(log.infos).toContain(`It was stored: ${result.certificate.id} holds this certificate, so it is not uploaded again.`);
    expect(log.infos.at(-1)).toMatch(
      new RegExp(`^This run lost an upload's answer: ${result.certificate.id} \\(stored at .*\\(uploaded: false\\)\\.$`),
    );
  });

  it('an upload answered 200 with an HTML page (a proxy in its place) is an answer that cannot be read: looks, and finds the stored copy', async () => {
    const gateway = await startGateway(emu.origin);
    try {
      gateway.add({
        method: 'POST',
        path: /\/organization\/certificates$/,
        apply: true,
        answer: { body: '<html><body>Welcome</body></html>' },
      });
      const result = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(3, {}, sdkApi(gateway.baseURL)));
      expect(result).toMatchObject({ uploaded: false, lostAnswer: true });
      expect(result.certificate.id).toBe(emu.certificates[0]!.id);
      expect(uploads()).toBe(1);
      expect(log.infos[0]).toMatch(/^Attempt 1 to upload the certificate failed \(unreadable answer to HTTP 200\), which does not tell/);
    } finally {
      await gateway.close();
    }
  });

  it('an upload answered 200 with {} is not taken for stored: looks, finds nothing, uploads again', async () => {
    const gateway = await startGateway(emu.origin);
    try {
      gateway.add({ method: 'POST', path: /\/organization\/certificates$/, answer: { body: {} } });
      const result = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(3, {}, sdkApi(gateway.baseURL)));
      expect(result).toMatchObject({ uploaded: true, certificate: { id: emu.certificates[0]!.id } });
      expect(gateway.seen.filter((s) => s.startsWith('POST'))).toHaveLength(2);
      expect(emu.certificates).toHaveLength(1);
    } finally {
      await gateway.close();
    }
  });

  it('a late commit (stored after the client gave up): the look after the back-off finds it, one copy', async () => {
    api = client({ timeout: 300 });
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 700 });
    const result = await upload(3, { sleep: realSleep });
    await emu.settled();
    expect(emu.certificates).toHaveLength(1);
    expect(uploads()).toBe(1);
    expect(result).toMatchObject({ uploaded: false, lostAnswer: true });
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
  });

  it('a late commit that lands after the look: the retry converges on the older, late copy and deletes its own', async () => {
    // Attempt 1 times out at 2.5 s and is stored at 3 s; the look runs at once (no back-off here) and
    // misses it; attempt 2 is held 2 s, so it is stored at 4.5 s, a later second than the late copy, and
    // answered in time.
    api = client({ timeout: 2500 });
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 3000 });
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 2000 });
    const result = await upload(3, { sleep: async () => undefined });
    await emu.settled();
    expect(uploads()).toBe(2);
    expect(emu.certificates).toHaveLength(1);
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(journal.duplicates).toHaveLength(1);
    expect(journal.duplicates[0]).not.toBe(result.certificate.id);
    // The kept copy may be this run's own late attempt or a racing run's: this run does not claim it.
    expect(result).toMatchObject({ uploaded: false, lostAnswer: true });
    expect(log.infos.join('\n')).toMatch(/it may be this run's late commit or a racing run's, so this run does not claim it/);
  });

  it('runs racing each other with the same CA end on one copy, the oldest, and only its uploader says uploaded', async () => {
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 300, times: Infinity });
    const journals = Array.from({ length: 5 }, () => new Journal());
    const results = await Promise.all(
      journals.map((own) => uploadOnce({ certificate, name: 'corp-ca', before: [] }, { ...context(3, {}, client()), journal: own })),
    );
    expect(emu.certificates).toHaveLength(1);
    const kept = emu.certificates[0]!.id;
    expect(results.map((r) => r.certificate.id)).toEqual(Array(5).fill(kept));
    expect(results.filter((r) => r.uploaded)).toHaveLength(1);
    expect(log.warnings).toEqual([]);
    const deletes = emu.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(deletes).not.toContain(kept);
    expect(new Set(journals.flatMap((j) => j.duplicates)).size).toBe(4);
  });

  it("never takes an older identical certificate (there before the plan) for this run's upload", async () => {
    const older = emu.addCertificate(certificate.pem, { name: 'older', createdAt: now() - 3600 });
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    const result = await upload(3, {}, 'new', [older.id]);
    expect(result.certificate.id).not.toBe(older.id);
    expect(result.certificate.name).toBe('new');
    expect(emu.certificates).toHaveLength(2);
    expect(emu.requests.some((r) => r.path.endsWith(older.id))).toBe(false);
  });

  it('with an older identical certificate and an upload that was not applied: uploads again, and still reports the new one', async () => {
    const older = emu.addCertificate(certificate.pem, { name: 'older', createdAt: now() - 3600 });
    emu.addFault({ kind: 'drop-before', method: 'POST', path: UPLOAD });
    const result = await upload(3, {}, 'new', [older.id]);
    expect(result.certificate.id).not.toBe(older.id);
    expect(result).toMatchObject({ uploaded: true });
    expect(uploads()).toBe(2);
    expect(emu.certificates.map((c) => c.name)).toEqual(['older', 'new']);
  });

  it('refused at the cap while a racing run stored the same certificate: goes on with its copy', async () => {
    const before = Array.from({ length: 49 }, () => emu.addCertificate(filler.pem).id);
    const racer = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: now() - 5 });
    const result = await upload(3, {}, 'corp-ca', before);
    expect(result).toMatchObject({ uploaded: false, lostAnswer: false, certificate: { id: racer.id } });
    expect(uploads()).toBe(1);
    expect(log.infos[0]).toBe('The upload was refused at the certificate limit; looking for a copy a racing run stored.');
  });

  it('refused at the cap with no copy to go on with: the limit error, as it is', async () => {
    const before = Array.from({ length: 50 }, () => emu.addCertificate(filler.pem).id);
    const error = (await upload(3, {}, 'corp-ca', before).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.kind).toBe('limit');
    expect(error.message).toMatch(/^Could not upload the certificate: the API answered 400 certificate_limit_exceeded/);
    expect(uploads()).toBe(1);
  });

  it('a copy whose content the API does not give (a thin answer) stops the run: nothing is decided on a guess', async () => {
    // Another run's copy, older than this run's, appears after the plan; its content comes back empty.
    const other = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: now() - 5 });
    emu.addFault({ kind: 'thin', method: 'GET', path: new RegExp(`/certificates/${other.id}$`) });
    const error = (await upload(3).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.title).toBe('api');
    expect(error.message).toMatch(
      new RegExp(
        `^Uploaded cert_\\w+, but could not look for copies a racing run stored: Could not tell whether ${other.id} \\("corp-ca"\\) is this certificate: the API returned no content for it.* Nothing was activated\\.$`,
      ),
    );
    expect(error.hint).toMatch(/Then run the action again/);
    expect(error.hint).toContain(certificate.fingerprint);
  });

  it('a hanging upload: each attempt is checked for after its back-off; when the retries run out it is not known, and the message says so', async () => {
    api = client({ timeout: 300 });
    emu.addFault({ kind: 'hang', method: 'POST', path: UPLOAD, times: Infinity });
    const error = (await upload(2).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain(
      `Could not upload the certificate: ${new URL(emu.baseURL).host} did not answer within 0.3 s (timeout-seconds).`,
    );
    expect(error.message).toContain('It was tried 3 times. It is not known whether the certificate was stored');
    expect(error.message).toContain(`(fingerprint ${certificate.fingerprint})`);
    expect(error.message).not.toMatch(/does not hold/);
    expect(hintFor(error, 'activate-projects')).toMatch(/timeout-seconds/);
    expect(uploads()).toBe(3);
    expect(delays).toEqual([750, 1500, 3000]);
    expect(emu.certificates).toHaveLength(0);
  });

  it('never uploads twice when the look after a lost answer fails: says so and stops', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    emu.addFault({ kind: 'status', status: 500, method: 'GET', path: UPLOAD });
    const error = (await upload(3).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toMatch(/^Could not list the certificates of the organization: the API answered 500/);
    expect(error.message).toMatch(/request id req_[0-9a-f]+/);
    expect(error.message).toMatch(/not known whether the certificate was stored; it was not uploaded again, to avoid a duplicate/);
    expect(error.hint).toMatch(/run the action again/);
    expect(uploads()).toBe(1);
    expect(emu.certificates).toHaveLength(1);
  });

  it('gives up after max-retries with the API error explained, the request id and the number of attempts', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: Infinity, headers: { 'Retry-After': '1' } });
    const error = (await upload(2).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 429 rate_limit_exceeded: ".*" \(request id req_[0-9a-f]+\)\. It was tried 3 times\.$/,
    );
    expect(hintFor(error, 'activate-projects')).toMatch(/max-retries/);
    expect(error.facts).toMatchObject({ kind: 'rate-limit', status: 429 });
    expect(delays).toEqual([1000, 1000]);
    expect(uploads()).toBe(3);
  });

  it('with max-retries 0 and a 500: tries once, looks once after the back-off, and says it is not known', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    const error = (await upload(0).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toMatch(/answered 500.*It was tried once\. It is not known whether the certificate was stored/);
    expect(error.facts).toMatchObject({ kind: 'server', status: 500 });
    expect(uploads()).toBe(1);
    expect(delays).toEqual([750]);
  });

  it('x-should-retry: false on a 500 is obeyed (no second upload), after one look', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD, shouldRetry: false });
    const error = (await upload(3).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toMatch(/It was tried once\. It is not known/);
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
    const error = (await upload(3).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 400 mtls_certificate_invalid: "The certificate is not a CA\." \(request id req_/,
    );
    expect(error.kind).toBe('invalid');
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
  let log: RecordingLogger;
  let journal: Journal;
  let certificate: CertificateInfo;
  const run = (before: string[] = []): Promise<Upload> =>
    uploadOnce(
      { certificate, name: 'corp-ca', before },
      { api, retry: { maxRetries: 2, sleep: async () => undefined, random: () => 0.5 }, log, journal },
    );

  beforeEach(async () => {
    emu = await startEmulator();
    api = sdkApi(emu.baseURL);
    log = recordingLogger();
    journal = new Journal();
    certificate = inspectCertificate(saidCa.der);
  });
  afterEach(async () => {
    await emu.close();
  });

  it('says how many attempts an upload took, only when it took more than one', async () => {
    await run();
    expect(log.all).toEqual([`info: Uploaded ${emu.certificates[0]!.id}.`]);
    log.clear();
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD });
    const second = await run([emu.certificates[0]!.id]);
    expect(log.infos.at(-1)).toBe(`Uploaded ${second.certificate.id} (after 2 attempts).`);
  });

  it('the copy recovered after a lost answer comes with nothing removed and nothing left over', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    expect(await run()).toEqual({
      certificate: expect.objectContaining({ id: emu.certificates[0]!.id }),
      uploaded: false,
      lostAnswer: true,
    });
    expect(journal).toMatchObject({ duplicates: [], cautions: [] });
  });

  it("a racing run's older copy is kept: this run's copy is deleted, said, and journaled as a duplicate", async () => {
    const racer = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: now() - 5 });
    const result = await run();
    const own = emu.requests
      .find((r) => r.method === 'DELETE')!
      .path.split('/')
      .pop()!;
    expect(result).toEqual({ certificate: expect.objectContaining({ id: racer.id }), uploaded: false, lostAnswer: false });
    expect(journal.duplicates).toEqual([own]);
    expect(log.infos).toContain(
      `${racer.id}, an identical copy stored at ${new Date(racer.created_at * 1000).toISOString().replace('.000Z', 'Z')}, is older than ${own}: every run keeps the oldest copy, so this run goes on with ${racer.id}.`,
    );
    expect(log.infos.at(-1)).toBe(`Deleted ${own}, a duplicate of ${racer.id} (the same certificate).`);
    expect(log.warnings).toEqual([]);
  });

  it('a duplicate that cannot be deleted is left, with a warning naming both copies, repeated in the summary', async () => {
    const racer = emu.addCertificate(certificate.pem, { name: 'corp-ca', createdAt: now() - 5 });
    emu.addFault({ kind: 'status', status: 400, method: 'DELETE', code: 'invalid_request', message: 'No.' });
    const result = await run();
    const own = emu.certificates.find((c) => c.id !== racer.id)!.id;
    expect(result).toMatchObject({ certificate: { id: racer.id } });
    expect(journal.duplicates).toEqual([]);
    const warning = new RegExp(
      `^${own}, a duplicate of ${racer.id}, could not be deleted \\(Could not delete certificate ${own}: .*\\)\\. A later run with reuse-existing: true removes it\\.$`,
    );
    expect(log.warnings).toEqual([expect.stringMatching(warning)]);
    expect(log.titles).toEqual(['warning: duplicate']);
    expect(journal.cautions).toEqual(log.warnings);
  });

  it('reads the content only of new certificates with the same validity dates, and skips those that differ', async () => {
    // Two other CAs appear since the plan: one with other dates, one with the same dates but another key.
    certificate = inspectCertificate(mineDated.der);
    const otherDates = emu.addCertificate(otherDatesCa.pem, { createdAt: now() - 20 });
    const sameDates = emu.addCertificate(sameDatesOther.pem, { createdAt: now() - 10 });
    const result = await run();
    expect(result).toMatchObject({ uploaded: true });
    expect(journal.duplicates).toEqual([]);
    expect(result.certificate.id).not.toBe(sameDates.id);
    const read = emu.requests.filter((r) => r.query['include[]'] === 'content').map((r) => r.path.split('/').pop());
    expect(read).toEqual([sameDates.id]);
    expect(read).not.toContain(otherDates.id);
    expect(emu.certificates).toHaveLength(3);
  });
});

describe('uploadOnce: the oldest copy by created_at, then id, whatever order the list gives', () => {
  /** An API with a fixed organization list (in the order given) and every certificate identical. */
  function fakeApi(certificate: CertificateInfo, list: () => ListedCertificate[], created: ListedCertificate): CertificateApi {
    const fake = {
      host: 'api.example.test',
      create: async (): Promise<StoredCertificate> => ({ ...created, content: certificate.pem }),
      listScope: async () => list(),
      retrieve: async (id: string): Promise<StoredCertificate> => ({ ...list().find((c) => c.id === id)!, content: certificate.pem }),
      delete: async () => undefined,
    };
    return fake as unknown as CertificateApi;
  }
  const context = (api: CertificateApi): WriteContext => ({
    api,
    retry: { maxRetries: 0, sleep: async () => undefined, random: () => 0.5 },
    log: recordingLogger(),
    journal: new Journal(),
  });

  it('a list out of order: the copy created first is kept; within the same second, the smaller id, never the one listed first', async () => {
    const certificate = inspectCertificate(unitCa.der);
    const own = listed('cert_own', 1000);
    const cases: Array<[ListedCertificate[], string]> = [
      [[own, listed('cert_later', 1001), listed('cert_first', 998), listed('cert_second', 999)], 'cert_first'],
      [[listed('cert_b', 999), own, listed('cert_a', 999)], 'cert_a'],
      [[listed('cert_x', 1000), own], 'cert_own'],
      [[own, listed('cert_a', 1000)], 'cert_a'],
    ];
    for (const [list, kept] of cases) {
      const ctx = context(fakeApi(certificate, () => list, own));
      const result = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, ctx);
      expect(result.certificate.id, JSON.stringify(list)).toBe(kept);
      expect(result.uploaded).toBe(kept === own.id);
      expect(ctx.journal.duplicates.sort()).toEqual(
        list
          .map((c) => c.id)
          .filter((id) => id !== kept)
          .sort(),
      );
    }
  });

  it('a failure to look that is an ActionError is explained as a failure to look for copies; a bug is thrown as it is', async () => {
    const certificate = inspectCertificate(unitCa.der);
    const own = listed('cert_own', 1000);
    const refused = new ActionError('The list could not be read.', { title: 'api', hint: 'Check it.' });
    const failing = fakeApi(
      certificate,
      () => {
        throw refused;
      },
      own,
    );
    const error = (await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(failing)).catch(
      (e: unknown) => e,
    )) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toBe(
      'Uploaded cert_own, but could not look for copies a racing run stored: The list could not be read. Nothing was activated.',
    );
    expect(error.title).toBe('api');
    expect(error.hint).toMatch(/^Check it\. Then run the action again/);

    // Without a title or a hint of its own: titled api, and the hint says only what to do next.
    const bare = fakeApi(
      certificate,
      () => {
        throw new ActionError('The list could not be read.');
      },
      own,
    );
    const plain = (await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(bare)).catch((e: unknown) => e)) as ActionError;
    expect(plain).toBeInstanceOf(ActionError);
    expect(plain.title).toBe('api');
    expect(plain.hint).toMatch(/^Then run the action again: with reuse-existing: true \(the default\) it finds the certificate/);

    const bug = new Error('boom');
    const buggy = fakeApi(
      certificate,
      () => {
        throw bug;
      },
      own,
    );
    await expect(uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(buggy))).rejects.toBe(bug);
  });
});

describe('uploadOnce: two runs whose copies are stored in the same second', () => {
  /** One organization shared by two runs' fakes: ids and created_at are what the test says, in turn. */
  function organization(certificate: CertificateInfo, ids: string[], createdAt: number) {
    const stored: ListedCertificate[] = [];
    const deleted: string[] = [];
    const api = {
      host: 'api.example.test',
      create: async (): Promise<StoredCertificate> => {
        const c = { id: ids.shift()!, name: 'corp-ca', createdAt, validAt: null, expiresAt: null, active: false };
        stored.push(c);
        return { ...c, content: certificate.pem };
      },
      listScope: async () => [...stored],
      retrieve: async (id: string): Promise<StoredCertificate> => ({ ...stored.find((c) => c.id === id)!, content: certificate.pem }),
      delete: async (id: string) => {
        deleted.push(id);
        stored.splice(
          stored.findIndex((c) => c.id === id),
          1,
        );
      },
    } as unknown as CertificateApi;
    return { api, stored, deleted };
  }
  const context = (api: CertificateApi): WriteContext => ({
    api,
    retry: { maxRetries: 0, sleep: async () => undefined, random: () => 0.5 },
    log: recordingLogger(),
    journal: new Journal(),
  });

  it('the later run keeps the oldest copy by created_at then id, and deletes the other while it is inactive', async () => {
    // Run A uploads cert_m and looks before run B's copy is stored: it sees only its own copy and keeps it.
    // Run B's copy, cert_a, is stored in the same second: B sees both and, by "created_at, then id", keeps
    // cert_a and deletes cert_m, still inactive. (Run A then finds cert_m gone when it activates it, and goes
    // on with cert_a: see apply.ts; the end-to-end race tests run both.)
    const certificate = inspectCertificate(unitCa.der);
    const org = organization(certificate, ['cert_m', 'cert_a'], 1000);
    const a = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(org.api));
    expect(a).toMatchObject({ uploaded: true, certificate: { id: 'cert_m' } });
    const b = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(org.api));
    expect(b).toMatchObject({ uploaded: true, certificate: { id: 'cert_a' } });
    expect(org.deleted).toEqual(['cert_m']);
  });
});

describe("waiting for a copy's second to pass by the API's clock (settleReuse, and the upload's look)", () => {
  /**
   * A fake API over a fixed organization, every certificate identical to `certificate`, with the API's clock
   * at `apiMs` (none when undefined). `calls` records what it was asked; `uploads` are what `create` returns.
   */
  function fakeOrganization(
    certificate: CertificateInfo,
    stored: ListedCertificate[],
    apiMs: number | undefined,
    uploads: ListedCertificate[] = [],
  ) {
    const calls: string[] = [];
    const api = {
      host: 'api.example.test',
      clock: apiMs === undefined ? undefined : { api: apiMs, local: Date.now() },
      create: async (): Promise<StoredCertificate> => {
        calls.push('create');
        const made = uploads.shift()!;
        stored.push(made);
        return { ...made, content: certificate.pem };
      },
      listScope: async () => {
        calls.push('list');
        return [...stored];
      },
      retrieve: async (id: string): Promise<StoredCertificate> => {
        calls.push(`retrieve ${id}`);
        return { ...stored.find((c) => c.id === id)!, content: certificate.pem };
      },
      delete: async (id: string) => {
        calls.push(`delete ${id}`);
        stored.splice(
          stored.findIndex((c) => c.id === id),
          1,
        );
        return undefined;
      },
    };
    return { api: api as unknown as CertificateApi, calls };
  }
  let slept: number[];
  let log: RecordingLogger;
  const context = (api: CertificateApi): WriteContext => ({
    api,
    retry: { maxRetries: 0, sleep: async (ms) => void slept.push(ms), random: () => 0.5 },
    log,
    journal: new Journal(),
  });
  beforeEach(() => {
    slept = [];
    log = recordingLogger();
  });
  const T = 1_700_000_000;

  it("a reused copy stored two seconds or more before the API's time, or with no API clock, is kept without another look", async () => {
    const certificate = inspectCertificate(unitCa.der);
    for (const apiMs of [(T + 2) * 1000, (T + 60) * 1000, undefined]) {
      const reused = listed('cert_m', T);
      const org = fakeOrganization(certificate, [reused, listed('cert_a', T)], apiMs);
      const kept = await settleReuse(
        { ...reused, content: certificate.pem },
        { certificate, name: 'corp-ca', before: ['cert_m'] },
        context(org.api),
      );
      expect(kept.id, String(apiMs)).toBe('cert_m');
      expect(org.calls).toEqual([]);
      expect(slept).toEqual([]);
    }
  });

  it('a reused copy stored within the last second: waits for its second to pass, looks again, and moves to a copy that sorts before it', async () => {
    const certificate = inspectCertificate(unitCa.der);
    const reused = listed('cert_m', T);
    // A racing run stored cert_a in the same second, after the plan read the organization.
    const org = fakeOrganization(certificate, [reused, listed('cert_a', T), listed('cert_z', T)], T * 1000 + 300);
    const kept = await settleReuse(
      { ...reused, content: certificate.pem },
      { certificate, name: 'corp-ca', before: ['cert_m'] },
      context(org.api),
    );
    expect(kept.id).toBe('cert_a');
    expect(slept).toEqual([700]);
    expect(org.calls).toEqual(['list', 'retrieve cert_a', 'retrieve cert_z']);
    expect(log.infos).toEqual([
      expect.stringMatching(
        /^cert_a, an identical copy stored at .* by a racing run, sorts before cert_m \(the same second, a smaller id\)/,
      ),
    ]);
  });

  it("a reused copy stored the second before the API's: its second has passed, so it looks again at once; it keeps the reused copy when it sorts first", async () => {
    const certificate = inspectCertificate(unitCa.der);
    const reused = listed('cert_m', T);
    const org = fakeOrganization(certificate, [reused, listed('cert_z', T)], (T + 1) * 1000 + 999);
    const kept = await settleReuse(
      { ...reused, content: certificate.pem },
      { certificate, name: 'corp-ca', before: ['cert_m'] },
      context(org.api),
    );
    expect(kept.id).toBe('cert_m');
    expect(slept).toEqual([]);
    expect(org.calls).toEqual(['list', 'retrieve cert_z']);
    expect(log.infos).toEqual([]);
  });

  it("an upload whose copy's second the API's clock has not left yet: waits at most two seconds, and looks again when it could not wait enough", async () => {
    const certificate = inspectCertificate(unitCa.der);
    const cases: Array<[number, number[], string[]]> = [
      // The API's clock 300 ms into the copy's second: one wait of 700 ms, then the one look.
      [T * 1000 + 300, [700], ['create', 'list']],
      // The API's clock already past the copy's second: no wait.
      [(T + 1) * 1000, [], ['create', 'list']],
      // The API's clock 2.5 s behind the copy's second's end: a wait of 2 s, then the look is not final, so
      // the run waits again and looks once more.
      [(T + 1) * 1000 - 2500, [2000, 2000], ['create', 'list', 'list']],
      // Exactly 2 s before the second's end: the 2 s wait is enough.
      [(T + 1) * 1000 - 2000, [2000], ['create', 'list']],
    ];
    for (const [apiMs, waits, calls] of cases) {
      slept = [];
      const org = fakeOrganization(certificate, [], apiMs, [listed('cert_m', T)]);
      const result = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(org.api));
      expect(result, String(apiMs)).toMatchObject({ uploaded: true, certificate: { id: 'cert_m' } });
      expect(slept, String(apiMs)).toEqual(waits);
      expect(org.calls, String(apiMs)).toEqual(calls);
    }
  });

  it('after a lost answer, a copy found in the second the API is still in: waits for it to pass and looks once more', async () => {
    const certificate = inspectCertificate(unitCa.der);
    const cases: Array<[number | undefined, number[], number]> = [
      [T * 1000 + 300, [700], 2],
      // The API's clock already in a later second than the copy's: the first look stands.
      [(T + 1) * 1000, [], 1],
      // No clock: nothing to wait for, and the look stands.
      [undefined, [], 1],
    ];
    for (const [apiMs, waits, looks] of cases) {
      slept = [];
      const stored: ListedCertificate[] = [];
      const org = fakeOrganization(certificate, stored, apiMs);
      // The upload is stored, but its answer is lost.
      org.api.create = async () => {
        org.calls.push('create');
        stored.push(listed('cert_m', T));
        throw new ApiError('Could not upload the certificate: the connection was reset.', {
          kind: 'connection',
          call: 'upload the certificate',
          status: undefined,
          code: undefined,
          missing: undefined,
          maybeApplied: true,
          retryable: true,
          retryAfterMs: undefined,
          connectionCode: 'ECONNRESET',
          timeoutMs: undefined,
          permission: undefined,
          requestId: undefined,
        });
      };
      const result = await uploadOnce({ certificate, name: 'corp-ca', before: [] }, context(org.api));
      expect(result, String(apiMs)).toMatchObject({ uploaded: false, lostAnswer: true, certificate: { id: 'cert_m' } });
      expect(slept.slice(1), String(apiMs)).toEqual(waits);
      expect(
        org.calls.filter((c) => c === 'list'),
        String(apiMs),
      ).toHaveLength(looks);
    }
  });
});
