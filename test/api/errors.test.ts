import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CertificateApi } from '../../src/api/certificates.ts';
import { ApiError, describeFailure, fromSdkError, hostOf, redactUrl, unreadableAnswer } from '../../src/api/errors.ts';
import { ORGANIZATION } from '../../src/api/reader.ts';
import { hintFor } from '../../src/inputs/hints.ts';
import { failRun } from '../../src/runtime.ts';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { recordingLogger } from '../helpers/logger.ts';
import { closedPort } from '../helpers/net.ts';
import { sdkApi } from '../helpers/sdk.ts';

const REQUEST_ID = /\(request id req_[0-9a-f]{32}\)\.$/;
const DAY = 86_400_000;

let ca: MadeCertificate;
let other: MadeCertificate;
let expired: MadeCertificate;
let nearlyExpired: MadeCertificate;
beforeAll(async () => {
  ca = makeCa({ cn: 'Errors CA' });
  other = makeCa({ cn: 'Other CA' });
  expired = await makeDatedCa(new Date(Date.now() - 30 * DAY), new Date(Date.now() - DAY), 'Expired CA');
  nearlyExpired = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 3_600_000), 'Nearly expired CA');
});

let emu: Emulator;
let host: string;
async function start(options: EmulatorOptions = {}): Promise<void> {
  await emu?.close();
  emu = await startEmulator(options);
  host = new URL(emu.baseURL).host;
}
beforeEach(async () => {
  await start();
});
afterEach(async () => {
  await emu.close();
});

function api(options: { key?: string; baseURL?: string; timeout?: number; maxRetries?: number } = {}): CertificateApi {
  return sdkApi(options.baseURL ?? emu.baseURL, options);
}

/** The main action's hint for an API failure (its project input is activate-projects). */
const hint = (error: ApiError): string | undefined => hintFor(error, 'activate-projects');

/** The ApiError a call fails with: titled api, with a hint that says what to do, and no key in its stack. */
async function failure(promise: Promise<unknown>): Promise<ApiError & { said: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect(apiError.title).toBe('api');
  expect(hint(apiError), 'every failure says what to do').toBeTruthy();
  expect(apiError.stack ?? '').not.toContain(DEFAULT_ADMIN_KEY);
  return Object.assign(apiError, { said: hint(apiError) ?? '' });
}

/** One upload, without retries, for the upload's error codes. */
function uploadRaw(target: CertificateApi, certificate: string): Promise<unknown> {
  return target.create(certificate, undefined, { maxRetries: 0 });
}

describe('fromSdkError and hintFor, through the SDK and the emulator', () => {
  it('401: the admin key was rejected; it must be an Admin API key, not a project key', async () => {
    const error = await failure(api({ key: 'sk-admin-wrong-key-000000000000' }).listScope(ORGANIZATION));
    expect(error.kind).toBe('auth');
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the admin key was rejected \(401\): "Incorrect API key provided: /,
    );
    expect(error.message).not.toContain('sk-admin-wrong-key');
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/must be an Admin API key of the organization/);
    expect(error.said).toMatch(/not a project key/);
  });

  it('the failed step says the message, then the hint of the action that owns the input', async () => {
    const error = await failure(api({ key: 'sk-admin-wrong-key-000000000000' }).listScope(ORGANIZATION));
    const log = recordingLogger();
    const exitCode = process.exitCode;
    try {
      expect(failRun(error, { hint }, log)).toBe(`${error.message} ${error.said}`);
    } finally {
      process.exitCode = exitCode;
    }
    expect(log.errors).toEqual([`${error.message} ${error.said}`]);
  });

  it('403 on a read: the key lacks api.mtls.read', async () => {
    emu.addFault({
      kind: 'status',
      status: 403,
      method: 'GET',
      path: '/organization/certificates',
      message: 'Missing scopes: api.mtls.read.',
    });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.kind).toBe('permission');
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the admin key is not allowed to \(403\): "Missing scopes: api\.mtls\.read\."/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/api\.mtls\.read permission/);
    expect(error.said).not.toMatch(/api\.mtls\.write/);
  });

  it('403 on a read of one certificate also asks for api.mtls.read', async () => {
    emu.addFault({ kind: 'status', status: 403, method: 'GET' });
    const error = await failure(api().retrieve('cert_abc'));
    expect(error.said).toMatch(/api\.mtls\.read permission/);
  });

  it('403 naming a missing api.mtls.write scope is a permission problem, not a client-certificate one', async () => {
    emu.addFault({
      kind: 'status',
      status: 403,
      method: 'POST',
      message: 'You have insufficient permissions for this operation. Missing scopes: api.mtls.write.',
    });
    const error = await failure(uploadRaw(api(), ca.pem));
    expect(error.kind).toBe('permission');
    expect(error.message).toMatch(/the admin key is not allowed to \(403\)/);
    expect(error.said).toMatch(/api\.mtls\.write/);
    expect(error.said).not.toMatch(/client-certificate/);
  });

  it('403 on a write: the key lacks api.mtls.write', async () => {
    const stored = emu.addCertificate(ca.pem);
    for (const call of [
      (a: CertificateApi) => a.activate(ORGANIZATION, [stored.id]),
      (a: CertificateApi) => a.deactivate('proj_alpha', [stored.id]),
      (a: CertificateApi) => a.delete(stored.id),
      (a: CertificateApi) => uploadRaw(a, 'x'),
    ]) {
      emu.addFault({ kind: 'status', status: 403, method: 'POST' });
      emu.addFault({ kind: 'status', status: 403, method: 'DELETE' });
      const error = await failure(call(api()));
      expect(error.message).toMatch(/the admin key is not allowed to \(403\)/);
      expect(error.message).toMatch(REQUEST_ID);
      expect(error.said).toMatch(/api\.mtls\.write/);
      emu.faults.splice(0);
    }
  });

  it('404 on certificate-id names the id', async () => {
    const error = await failure(api().retrieve('cert_doesNotExist123'));
    expect(error.facts).toMatchObject({ kind: 'not-found', missing: 'certificate', status: 404 });
    expect(error.message).toMatch(
      /^Could not read certificate cert_doesNotExist123: certificate cert_doesNotExist123 was not found \(404\)/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/certificate-id/);
  });

  it('404 on a project names the project, and the input the action reads it from', async () => {
    const error = await failure(api().listScope('proj_unknown'));
    expect(error.facts).toMatchObject({ kind: 'not-found', missing: 'project' });
    expect(error.message).toMatch(/^Could not list the certificates of project proj_unknown: project proj_unknown was not found \(404\)/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/activate-projects/);
    expect(hintFor(error, 'projects')).toMatch(/Check the id in projects:/);
    const activation = await failure(api().activate('proj_unknown', ['cert_abc']));
    expect(activation.message).toMatch(/project proj_unknown was not found \(404\)/);
  });

  it('404 for a certificate while activating it in an existing project names the certificate, not the project', async () => {
    const error = await failure(api().activate('proj_alpha', ['cert_vanished']));
    expect(error.facts.missing).toBe('certificate');
    expect(error.message).toMatch(/certificate cert_vanished was not found \(404\)/);
    expect(error.message).not.toMatch(/project proj_alpha was not found/);
  });

  it('404 on an unknown path points at base-url', async () => {
    const wrong = api({ baseURL: `${emu.origin}/v2` });
    const error = await failure(wrong.listScope(ORGANIZATION));
    expect(error.facts).toMatchObject({ kind: 'not-found', missing: undefined });
    expect(error.message).toMatch(/answered 404/);
    expect(error.said).toMatch(/base-url/);
  });

  it('certificate_in_use: deactivate it everywhere first', async () => {
    const stored = emu.addCertificate(ca.pem, { activeProjects: ['proj_beta'] });
    const error = await failure(api().delete(stored.id));
    expect(error.facts).toMatchObject({ kind: 'in-use', maybeApplied: false, retryable: false });
    expect(error.message).toMatch(
      new RegExp(`^Could not delete certificate ${stored.id}: the API answered 400 certificate_in_use: "Certificate is still active`),
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/deactivate it everywhere first/);
  });

  it('mtls_certificate_invalid: what OpenAI accepts', async () => {
    const error = await failure(uploadRaw(api(), '-----BEGIN CERTIFICATE-----\nnotbase64\n-----END CERTIFICATE-----\n'));
    expect(error.kind).toBe('invalid');
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 400 mtls_certificate_invalid: "The certificate could not be parsed/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/CA:TRUE/);
  });

  it("expired_certificate: the API's own message, explained", async () => {
    const error = await failure(uploadRaw(api(), expired.pem));
    expect(error.kind).toBe('expired');
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 400 expired_certificate: "The certificate expired at \d{4}-/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/expire within one day: issue a new CA certificate/);

    const late = await failure(uploadRaw(api(), nearlyExpired.pem));
    expect(late.message).toMatch(/expired_certificate: "The certificate expires at .*more than one day\."/);
  });

  it('certificate_limit_exceeded (a race past the planning check): the cap and delete-expired', async () => {
    for (let i = 0; i < 50; i++) emu.addCertificate(other.pem);
    const error = await failure(uploadRaw(api(), ca.pem));
    expect(error.facts).toMatchObject({ kind: 'limit', maybeApplied: false });
    expect(error.message).toMatch(/certificate_limit_exceeded/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/50 certificates/);
    expect(error.said).toMatch(/delete-expired: true/);
  });

  it('a client-certificate refusal says to pass client-certificate and client-key', async () => {
    await start({ enforceOrgMtlsOnPlainHost: true });
    emu.addCertificate(ca.pem, { activeOrg: true });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.kind).toBe('mtls-required');
    expect(error.message).toMatch(/answered 403 mtls_required/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/client-certificate and client-key/);
  });

  it('429 after the retries: run later or raise max-retries', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'GET' });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.facts).toMatchObject({ kind: 'rate-limit', maybeApplied: false, retryable: true });
    expect(error.message).toMatch(/answered 429 rate_limit_exceeded/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/max-retries/);
  });

  it('5xx: OpenAI failed on its side', async () => {
    emu.addFault({ kind: 'status', status: 503, method: 'GET' });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.facts).toMatchObject({ kind: 'server', status: 503, maybeApplied: true, retryable: true });
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the API answered 503: "Emulated fault: HTTP 503\."/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.said).toMatch(/status\.openai\.com/);
  });

  it('a host that cannot be reached is named, with the reason', async () => {
    const port = await closedPort();
    const error = await failure(api({ baseURL: `http://127.0.0.1:${port}/v1` }).listScope(ORGANIZATION));
    expect(error.facts).toMatchObject({ kind: 'connection', connectionCode: 'ECONNREFUSED', maybeApplied: false, retryable: true });
    expect(error.message).toBe(
      `Could not list the certificates of the organization: could not connect to 127.0.0.1:${port} (ECONNREFUSED).`,
    );
    expect(error.said).toMatch(/DNS, firewall, proxy/);
    expect(error.message).not.toMatch(/request id/);
  });

  it('a request that times out names the host and the time limit', async () => {
    emu.addFault({ kind: 'hang', times: Infinity });
    const error = await failure(api({ timeout: 200 }).listScope(ORGANIZATION));
    expect(error.facts).toMatchObject({ kind: 'timeout', timeoutMs: 200, maybeApplied: true, retryable: true });
    expect(error.message).toMatch(
      new RegExp(`^Could not list the certificates of the organization: ${host.replace(/\./g, '\\.')} did not answer within 0\\.2 s`),
    );
    expect(error.message).toMatch(/timeout-seconds/);
    expect(error.said).toMatch(/raise timeout-seconds/);
  });
});

describe('fromSdkError and hintFor, unit', () => {
  const context = { action: 'list the certificates of the organization', host: 'api.openai.com' };
  const apiError = (status: number, body: object, headers: Record<string, string> = {}): APIError =>
    APIError.generate(status, body, undefined, new Headers(headers));

  it('names the time limit when it is known', () => {
    expect(fromSdkError(new APIConnectionTimeoutError(), { ...context, timeoutMs: 60_000 }).message).toBe(
      'Could not list the certificates of the organization: api.openai.com did not answer within 60 s (timeout-seconds).',
    );
    expect(fromSdkError(new APIConnectionTimeoutError(), { ...context, timeoutMs: 1500 }).message).toMatch(/within 1\.5 s/);
    expect(fromSdkError(new APIConnectionTimeoutError(), context).message).toMatch(/within the time limit \(timeout-seconds\)/);
  });

  it('walks the cause chain for the connection error code', () => {
    const cause = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
    });
    const error = fromSdkError(new APIConnectionError({ message: 'Connection error.', cause }), context);
    expect(error.message).toBe('Could not list the certificates of the organization: could not connect to api.openai.com (ENOTFOUND).');
    expect(error.facts.connectionCode).toBe('ENOTFOUND');
  });

  it('says what to do about TLS failures, by their code', () => {
    const withCode = (code: string): ApiError => {
      const cause = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('tls'), { code }) });
      return fromSdkError(new APIConnectionError({ message: 'Connection error.', cause }), { ...context, host: 'mtls.api.openai.com' });
    };
    const hinted = (code: string): string => hintFor(withCode(code), 'activate-projects') ?? '';
    expect(hinted('ERR_OSSL_X509_KEY_VALUES_MISMATCH')).toMatch(/client-key is not the private key of client-certificate/);
    expect(hinted('ERR_OSSL_PEM_NO_START_LINE')).toMatch(/client-certificate or client-key could not be read/);
    expect(hinted('ERR_OSSL_UNSUPPORTED')).toMatch(/could not be read/);
    expect(hinted('UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toMatch(/TLS certificate was not trusted.*NODE_EXTRA_CA_CERTS/);
    expect(hinted('SELF_SIGNED_CERT_IN_CHAIN')).toMatch(/not trusted/);
    expect(hinted('ERR_TLS_CERT_ALTNAME_INVALID')).toMatch(/not trusted/);
    expect(hinted('EPROTO')).toMatch(/TLS handshake failed/);
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'UND_ERR_SOCKET']) expect(hinted(code)).toMatch(/DNS, firewall, proxy/);
    expect(withCode('ECONNREFUSED').message).toBe(
      'Could not list the certificates of the organization: could not connect to mtls.api.openai.com (ECONNREFUSED).',
    );
  });

  it('uses only the message of the API, never the raw body, and shortens a long one', () => {
    const body = {
      error: { message: 'm'.repeat(500), type: 'invalid_request_error', param: null, code: null },
      secret_field: 'RAW-BODY-MARKER',
    };
    const error = fromSdkError(apiError(400, body, { 'x-request-id': 'req_1' }), context);
    expect(error.message).not.toContain('RAW-BODY-MARKER');
    expect(error.message).toContain(`"${'m'.repeat(300)}…"`);
    expect(error.message).toMatch(/\(request id req_1\)\.$/);
    expect(error.facts.requestId).toBe('req_1');
  });

  it('redacts a key in the API message before cutting it', () => {
    const key = `sk-admin-${'k'.repeat(40)}`;
    const error = fromSdkError(apiError(400, { error: { message: `Bad key ${key}.` } }), context);
    expect(error.message).not.toContain(key);
    expect(error.message).toContain('Bad key ***.');
  });

  it('leaves out the request id when there is none', () => {
    const error = fromSdkError(apiError(500, { error: { message: 'oops' } }), context);
    expect(error.message).toBe('Could not list the certificates of the organization: the API answered 500: "oops".');
  });

  it('passes an ApiError through and wraps anything else as an unreadable failure that may have been applied', () => {
    const original = fromSdkError(apiError(500, { error: { message: 'oops' } }), context);
    expect(fromSdkError(original, context)).toBe(original);
    const wrapped = fromSdkError(new Error('boom'), context);
    expect(wrapped.message).toBe('Could not list the certificates of the organization: boom');
    expect(wrapped.facts).toMatchObject({ kind: 'unreadable', maybeApplied: true, retryable: false });
    expect(fromSdkError('a string', context).message).toBe('Could not list the certificates of the organization: a string');
  });

  it('a cancelled request may have been applied, and is not retried', () => {
    const error = fromSdkError(new APIUserAbortError(), context);
    expect(error.facts).toMatchObject({ kind: 'aborted', maybeApplied: true, retryable: false });
    expect(error.message).toBe('Could not list the certificates of the organization: the request was cancelled.');
    expect(hintFor(error, 'activate-projects')).toBe('The run was cancelled.');
  });

  it('a redirect is named, with its target redacted, and never followed', () => {
    const error = fromSdkError(apiError(302, {}, { location: 'https://user:pw@elsewhere.example/v1/x?token=secret#f' }), context);
    expect(error.kind).toBe('redirect');
    expect(error.message).toMatch(/answered 302 and redirects to https:\/\/elsewhere\.example\/v1\/x\b/);
    expect(error.message).not.toMatch(/secret|user:pw/);
    expect(hintFor(error, 'activate-projects')).toMatch(/base-url/);
  });

  it('the certificate cap is told by a code or a message that speaks of the limit, but a rate limit is not the cap', () => {
    const kind = (status: number, code: string | null, message: string): string =>
      fromSdkError(apiError(status, { error: { message, code } }), context).kind;
    expect(kind(400, 'too_many_certificates', 'x')).toBe('limit');
    expect(kind(400, null, 'The organization has reached the maximum of 50 certificates.')).toBe('limit');
    expect(kind(429, 'rate_limit_exceeded', 'Rate limit reached for certificates.')).toBe('rate-limit');
    expect(kind(500, null, 'certificate limit service down')).toBe('server');
    expect(kind(409, null, 'conflict')).toBe('conflict');
    expect(kind(422, null, 'nope')).toBe('refused');
  });

  it('a 404 names what is missing by the parameter first, then the message, then the call; unknown otherwise', () => {
    const missing = (param: string | null, message: string, call: object): string | undefined =>
      fromSdkError(apiError(404, { error: { message, param } }), { ...context, ...call }).facts.missing;
    expect(missing('project_id', 'x', { certificateId: 'cert_a' })).toBe('project');
    expect(missing('certificate_id', 'x', { projectId: 'proj_a' })).toBe('certificate');
    expect(missing(null, 'No such project.', { projectId: 'proj_a', certificateId: 'cert_a' })).toBe('project');
    expect(missing(null, 'No such certificate.', { projectId: 'proj_a', certificateId: 'cert_a' })).toBe('certificate');
    expect(missing(null, 'Not found.', { projectId: 'proj_a', certificateId: 'cert_a' })).toBeUndefined();
    expect(missing(null, 'Not found.', {})).toBeUndefined();
  });

  it('unreadableAnswer names the status and what is wrong, and says whether it may have been applied', () => {
    const write = unreadableAnswer({ action: 'upload the certificate', host: 'h' }, 200, 'its answer is an HTML page, not JSON', true);
    expect(write.message).toMatch(/^Could not upload the certificate: the API answered 200, but its answer is an HTML page, not JSON\./);
    expect(write.facts).toMatchObject({ kind: 'unreadable', status: 200, maybeApplied: true, retryable: true });
    expect(unreadableAnswer(context, 200, 'x', false).facts).toMatchObject({ maybeApplied: false, retryable: false });
    expect(describeFailure(write)).toBe('unreadable answer to HTTP 200');
  });

  it('hostOf gives host and port; redactUrl keeps scheme, host and path', () => {
    expect(hostOf('https://api.openai.com/v1')).toBe('api.openai.com');
    expect(hostOf('http://127.0.0.1:8080/v1')).toBe('127.0.0.1:8080');
    expect(hostOf('not a url')).toBe('(not a URL)');
    expect(redactUrl('https://u:p@h.example:8443/v1?q=1#x')).toBe('https://h.example:8443/v1');
    expect(redactUrl('nope')).toBe('(not a URL)');
  });
});
