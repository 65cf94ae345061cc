import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  BadRequestError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi, ORGANIZATION, type StoredCertificate } from '../../src/api/certificates.ts';
import { findIdentical } from '../../src/rotation/identical.ts';
import {
  BASE_DELAY_MS,
  MAX_DELAY_MS,
  MAX_RETRY_AFTER_MS,
  classify,
  retryAfterMs,
  retryDelay,
  uploadWithoutDuplicates,
  type RetryOptions,
} from '../../src/rotation/upload.ts';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.ts';
import { ActionError } from '../../src/errors.ts';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa } from '../helpers/certs.ts';

const UPLOAD = '/organization/certificates';

function apiError(status: number, headers: Record<string, string> = {}, code?: string): APIError {
  return APIError.generate(
    status,
    { error: { message: 'x', type: 't', param: null, code: code ?? null } },
    undefined,
    new Headers(headers),
  );
}

describe('classify', () => {
  it('retries a 429 as refused: nothing was stored', () => {
    expect(classify(apiError(429))).toBe('refused');
  });
  it('treats timeouts, dropped connections, 408, 409 and 5xx as ambiguous: it may have been stored', () => {
    expect(classify(new APIConnectionError({ message: 'Connection error.' }))).toBe('ambiguous');
    expect(classify(new APIConnectionTimeoutError())).toBe('ambiguous');
    for (const status of [408, 409, 500, 502, 503, 504]) expect(classify(apiError(status))).toBe('ambiguous');
  });
  it('does not retry what retrying cannot fix', () => {
    for (const status of [400, 401, 403, 404, 413, 422]) expect(classify(apiError(status))).toBe('final');
    expect(classify(new APIUserAbortError())).toBe('final');
    expect(classify(new Error('boom'))).toBe('final');
    expect(classify('a string')).toBe('final');
  });
});

describe('retryDelay', () => {
  const plain = apiError(500);
  it('backs off exponentially, with jitter between half and all of the ceiling', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
      expect(retryDelay(plain, attempt, () => 0)).toBe(ceiling / 2);
      expect(retryDelay(plain, attempt, () => 0.999999)).toBe(ceiling);
      expect(retryDelay(plain, attempt, () => 0.5)).toBe(Math.round(ceiling * 0.75));
    }
    expect(retryDelay(plain, 0, () => 0.5)).toBe(750);
    expect(retryDelay(plain, 1, () => 0.5)).toBe(1500);
    expect(retryDelay(plain, 20, () => 0.999999)).toBe(MAX_DELAY_MS);
  });

  it('stays within its bounds for any random value', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const delay = retryDelay(plain, attempt, Math.random);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('honours Retry-After in seconds, without jitter', () => {
    expect(retryDelay(apiError(429, { 'retry-after': '7' }), 0, () => 0.9)).toBe(7000);
    expect(retryDelay(apiError(429, { 'retry-after': '0' }), 3, () => 0.9)).toBe(0);
    expect(retryDelay(apiError(503, { 'retry-after': '1.5' }), 0, () => 0.9)).toBe(1500);
  });

  it('honours Retry-After as an HTTP date, against the clock it is given', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    const header = { 'retry-after': new Date(now + 12_000).toUTCString() };
    expect(
      retryDelay(
        apiError(429, header),
        0,
        () => 0.5,
        () => now,
      ),
    ).toBe(12_000);
    // RFC 850 and asctime forms (asctime carries no zone: it is GMT).
    expect(
      retryDelay(
        apiError(429, { 'retry-after': 'Saturday, 28-Nov-26 12:00:03 GMT' }),
        0,
        () => 0.5,
        () => now,
      ),
    ).toBe(3000);
    expect(
      retryDelay(
        apiError(429, { 'retry-after': 'Sat Nov 28 12:00:04 2026' }),
        0,
        () => 0.5,
        () => now,
      ),
    ).toBe(4000);
    // A date in the past: retry now.
    expect(
      retryDelay(
        apiError(429, { 'retry-after': new Date(now - 5000).toUTCString() }),
        0,
        () => 0.5,
        () => now,
      ),
    ).toBe(0);
  });

  it('prefers retry-after-ms to Retry-After', () => {
    expect(retryDelay(apiError(429, { 'retry-after-ms': '250', 'retry-after': '9' }), 0, () => 0.5)).toBe(250);
    expect(retryAfterMs(apiError(429, { 'retry-after-ms': '10' }))).toBe(10);
  });

  it('caps what the server asks for at 60 s', () => {
    expect(retryDelay(apiError(429, { 'retry-after': '3600' }), 0, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelay(apiError(429, { 'retry-after-ms': '600000' }), 0, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('falls back to backoff when the header is missing or makes no sense', () => {
    const cases: Array<Record<string, string>> = [
      {},
      { 'retry-after': 'soon' },
      { 'retry-after': '-3' },
      { 'retry-after': '1 2' },
      { 'retry-after-ms': 'abc' },
      { 'retry-after-ms': '-1' },
    ];
    for (const headers of cases) {
      expect(retryDelay(apiError(429, headers), 1, () => 0)).toBe(1000);
    }
    expect(retryAfterMs(new APIConnectionError({ message: 'x' }))).toBeUndefined();
    expect(retryAfterMs(new Error('x'))).toBeUndefined();
  });
});

describe('uploadWithoutDuplicates against the emulator, through the SDK', () => {
  let emu: Emulator;
  let api: CertificateApi;
  let certificate: CertificateInfo;
  let delays: number[];
  let lines: string[];

  const options = (maxRetries: number, extra: Partial<RetryOptions> = {}): RetryOptions => ({
    maxRetries,
    sleep: async (ms) => void delays.push(ms),
    random: () => 0.5,
    log: (line) => void lines.push(line),
    ...extra,
  });
  const findStored = async (): Promise<StoredCertificate | undefined> => findIdentical(api, certificate, await api.listScope(ORGANIZATION));
  const uploads = (): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;
  const lists = (): number => emu.requests.filter((r) => r.method === 'GET' && r.path === `/v1${UPLOAD}`).length;
  const upload = (maxRetries: number, extra: Partial<RetryOptions> = {}, name: string | null = 'corp-ca') =>
    uploadWithoutDuplicates(api, certificate, name ?? undefined, findStored, options(maxRetries, extra));

  beforeEach(async () => {
    emu = await startEmulator();
    const client = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      timeout: 2000,
      logLevel: 'off',
    });
    api = new CertificateApi(client, emu.baseURL);
    certificate = inspectCertificate(makeCa({ cn: 'Unit CA' }).der);
    delays = [];
    lines = [];
  });
  afterEach(async () => {
    await emu.close();
  });

  it('uploads once when nothing goes wrong, and sleeps never', async () => {
    const result = await upload(3);
    expect(result).toMatchObject({ attempts: 1 });
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(result.certificate.name).toBe('corp-ca');
    expect(emu.certificates).toHaveLength(1);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/organization/certificates']);
    expect(emu.requests[0]!.body).toEqual({ certificate: certificate.pem, name: 'corp-ca' });
    expect(delays).toEqual([]);
  });

  it('sends no name when there is none', async () => {
    await upload(0, {}, null);
    expect(emu.requests[0]!.body).toEqual({ certificate: certificate.pem });
  });

  it('waits as Retry-After says on 429, without listing (nothing was stored), and succeeds', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: 2, headers: { 'Retry-After': '2' } });
    const result = await upload(3);
    expect(result.attempts).toBe(3);
    expect(delays).toEqual([2000, 2000]);
    expect(lists()).toBe(0);
    expect(uploads()).toBe(3);
    expect(emu.certificates).toHaveLength(1);
    expect(lines.some((l) => /attempt 1 failed \(HTTP 429\); retrying in 2\.0 s \(3 retries left\)/.test(l))).toBe(true);
  });

  it('honours retry-after-ms', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, headers: { 'retry-after-ms': '10' } });
    await upload(1);
    expect(delays).toEqual([10]);
  });

  it('backs off exponentially with jitter when the server gives no Retry-After', async () => {
    emu.addFault({ kind: 'status', status: 503, method: 'POST', path: UPLOAD, times: 3 });
    let r = 0;
    const randoms = [0, 0.999999, 0.5];
    await upload(3, { random: () => randoms[r++] ?? 0 });
    expect(delays).toEqual([500, 2000, 3000]);
    expect(emu.certificates).toHaveLength(1);
  });

  it('after a 500, looks for the certificate before uploading again', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    const result = await upload(3);
    expect(result).toMatchObject({ attempts: 2 });
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
      'POST /v1/organization/certificates',
    ]);
    expect(emu.certificates).toHaveLength(1);
    expect(delays).toEqual([750]);
    expect(lines[0]).toBe(
      'The upload failed with HTTP 500, which does not tell whether it was stored; checking whether the certificate was stored anyway.',
    );
    expect(lines[1]).toBe('It was not: the organization holds no certificate with this fingerprint.');
  });

  it('after a connection dropped before the upload reached the API, uploads again (exactly one certificate)', async () => {
    emu.addFault({ kind: 'drop-before', method: 'POST', path: UPLOAD });
    const result = await upload(3);
    expect(result.attempts).toBe(2);
    expect(emu.certificates).toHaveLength(1);
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(lines.join('\n')).toMatch(/answer was lost \(connection failed\)/);
    expect(lines.join('\n')).toMatch(/It was not/);
  });

  it('after the answer is lost but the upload was stored, takes the stored certificate and uploads nothing more', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    const result = await upload(3);
    expect(emu.certificates).toHaveLength(1);
    expect(result).toMatchObject({ attempts: 1 });
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(result.certificate.name).toBe('corp-ca');
    expect(uploads()).toBe(1);
    expect(delays).toEqual([]);
    // The stored content was read back to compare fingerprints.
    const read = emu.requests.find((r) => r.method === 'GET' && r.path === `/v1${UPLOAD}/${result.certificate.id}`);
    expect(read?.query).toEqual({ 'include[]': 'content' });
    expect(lines.join('\n')).toContain(`It was: ${result.certificate.id} holds this certificate`);
  });

  it("after a lost answer, a transient failure of the check is carried by the SDK's read retries, and the stored certificate is found", async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    emu.addFault({ kind: 'status', status: 502, method: 'GET', path: UPLOAD });
    const client = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 1,
      timeout: 2000,
      logLevel: 'off',
    });
    api = new CertificateApi(client, emu.baseURL);
    const result = await upload(2);
    expect(lists()).toBe(2);
    expect(uploads()).toBe(1);
    expect(result.certificate.id).toBe(emu.certificates[0]!.id);
    expect(emu.certificates).toHaveLength(1);
  });

  it('a hanging upload times out, is checked for, and is retried until the retries run out', async () => {
    const client = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 0,
      timeout: 300,
      logLevel: 'off',
    });
    api = new CertificateApi(client, emu.baseURL);
    emu.addFault({ kind: 'hang', method: 'POST', path: UPLOAD, times: Infinity });
    const started = Date.now();
    const error = await upload(2).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(ActionError);
    const message = (error as ActionError).message;
    expect(message).toContain(
      `Could not upload the certificate: ${new URL(emu.baseURL).host} did not answer within 0.3 s (timeout-seconds)`,
    );
    expect(message).toMatch(/tried 3 times; the organization was checked afterwards and does not hold the certificate/);
    expect((error as ActionError).hint).toMatch(/timeout-seconds/);
    expect(uploads()).toBe(3);
    expect(lists()).toBe(3);
    expect(delays).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("The upload's answer was lost (timed out)"))).toHaveLength(3);
    expect(emu.certificates).toHaveLength(0);
  });

  it('never uploads twice when the check after a lost answer fails: says so and stops', async () => {
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    emu.addFault({ kind: 'status', status: 500, method: 'GET', path: UPLOAD });
    const error = (await upload(3).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /^The upload's answer was lost \(connection failed\), and could not list the certificates of the organization: the API answered 500/,
    );
    expect(error.message).toMatch(/request id req_[0-9a-f]+/);
    expect(error.message).toMatch(/not known whether the certificate was stored; it was not uploaded again/);
    expect(error.hint).toMatch(/run the action again/);
    expect(uploads()).toBe(1);
    expect(emu.certificates).toHaveLength(1);
  });

  it('gives up after max-retries with the API error explained and the request id', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: Infinity, headers: { 'Retry-After': '1' } });
    const error = (await upload(2).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 429 rate_limit_exceeded: ".*" \(request id req_[0-9a-f]+\)\. The action tried 3 times\.$/,
    );
    expect(error.hint).toMatch(/max-retries/);
    expect(error.cause).toBeInstanceOf(RateLimitError);
    expect(delays).toEqual([1000, 1000]);
    expect(uploads()).toBe(3);
  });

  it('with max-retries 0, tries once', async () => {
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    const error = (await upload(0).catch((e: unknown) => e)) as ActionError;
    expect(error.message).toMatch(/answered 500.*The action tried 1 time; the organization was checked afterwards/);
    expect(error.cause).toBeInstanceOf(InternalServerError);
    expect(uploads()).toBe(1);
    expect(delays).toEqual([]);
  });

  it('does not retry a refusal that retrying cannot fix', async () => {
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
    expect(uploads()).toBe(1);
    expect(lists()).toBe(0);
    expect(delays).toEqual([]);
  });

  it('the SDK does not retry the upload itself, even on a client with retries', async () => {
    const client = new OpenAI({
      adminAPIKey: DEFAULT_ADMIN_KEY,
      apiKey: null,
      baseURL: emu.baseURL,
      maxRetries: 5,
      timeout: 2000,
      logLevel: 'off',
    });
    api = new CertificateApi(client, emu.baseURL);
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD });
    await upload(0).catch(() => undefined);
    expect(uploads()).toBe(1);
  });
});
