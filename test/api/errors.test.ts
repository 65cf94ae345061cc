import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.ts';
import { ORGANIZATION } from '../../src/api/reader.ts';
import { explainApiError, hostOf } from '../../src/api/errors.ts';
import { ActionError } from '../../src/errors.ts';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa } from '../helpers/certs.ts';
import { closedPort } from '../helpers/net.ts';

const REQUEST_ID = /\(request id req_[0-9a-f]{32}\)\.$/;
const DAY = 86_400_000;

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
  const baseURL = options.baseURL ?? emu.baseURL;
  const client = new OpenAI({
    adminAPIKey: options.key ?? DEFAULT_ADMIN_KEY,
    apiKey: null,
    baseURL,
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout ?? 5000,
    logLevel: 'off',
  });
  return new CertificateApi(client, baseURL);
}

async function failure(promise: Promise<unknown>): Promise<ActionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ActionError);
  const actionError = error as ActionError;
  expect(actionError.title).toBe('api');
  expect(actionError.hint, 'every failure says what to do').toBeTruthy();
  expect(actionError.stack ?? '').not.toContain(DEFAULT_ADMIN_KEY);
  return actionError;
}

/** One upload, without retries, for the upload's error codes. */
function uploadRaw(target: CertificateApi, certificate: string): Promise<unknown> {
  return target.create(certificate, undefined, { maxRetries: 0 });
}

describe('explainApiError through the SDK and the emulator', () => {
  it('401: the admin key was rejected; it must be an Admin API key, not a project key', async () => {
    const error = await failure(api({ key: 'sk-admin-wrong-key-000000000000' }).listScope(ORGANIZATION));
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the admin key was rejected \(401\): "Incorrect API key provided: /,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/must be an Admin API key of the organization/);
    expect(error.hint).toMatch(/not a project key/);
    expect(error.annotation).toBe(`${error.message} ${error.hint}`);
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
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the admin key is not allowed to \(403\): "Missing scopes: api\.mtls\.read\."/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/api\.mtls\.read permission/);
    expect(error.hint).not.toMatch(/api\.mtls\.write/);
  });

  it('403 on a read of one certificate also asks for api.mtls.read', async () => {
    emu.addFault({ kind: 'status', status: 403, method: 'GET' });
    const error = await failure(api().retrieve('cert_abc', true));
    expect(error.hint).toMatch(/api\.mtls\.read permission/);
  });

  it('403 naming a missing api.mtls.write scope is a permission problem, not a client-certificate one', async () => {
    emu.addFault({
      kind: 'status',
      status: 403,
      method: 'POST',
      message: 'You have insufficient permissions for this operation. Missing scopes: api.mtls.write.',
    });
    const error = await failure(uploadRaw(api(), makeCa().pem));
    expect(error.message).toMatch(/the admin key is not allowed to \(403\)/);
    expect(error.hint).toMatch(/api\.mtls\.write/);
    expect(error.hint).not.toMatch(/client-certificate/);
  });

  it('403 on a write: the key lacks api.mtls.write', async () => {
    const stored = emu.addCertificate(makeCa().pem);
    for (const call of [
      (a: CertificateApi) => a.toggle(ORGANIZATION, [stored.id], true),
      (a: CertificateApi) => a.toggle('proj_alpha', [stored.id], false),
      (a: CertificateApi) => a.delete(stored.id),
      (a: CertificateApi) => uploadRaw(a, 'x'),
    ]) {
      emu.addFault({ kind: 'status', status: 403, method: 'POST' });
      emu.addFault({ kind: 'status', status: 403, method: 'DELETE' });
      const error = await failure(call(api()));
      expect(error.message).toMatch(/the admin key is not allowed to \(403\)/);
      expect(error.message).toMatch(REQUEST_ID);
      expect(error.hint).toMatch(/api\.mtls\.write/);
      emu.faults.splice(0);
    }
  });

  it('404 on certificate-id names the id', async () => {
    const error = await failure(api().retrieve('cert_doesNotExist123', true));
    expect(error.message).toMatch(
      /^Could not read certificate cert_doesNotExist123: certificate cert_doesNotExist123 was not found \(404\)/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/certificate-id/);
  });

  it('404 on a project names the project', async () => {
    const error = await failure(api().listScope('proj_unknown'));
    expect(error.message).toMatch(/^Could not list the certificates of project proj_unknown: project proj_unknown was not found \(404\)/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/activate-projects/);
    const activation = await failure(api().toggle('proj_unknown', ['cert_abc'], true));
    expect(activation.message).toMatch(/project proj_unknown was not found \(404\)/);
  });

  it('404 for a certificate while activating it in an existing project names the certificate, not the project', async () => {
    const error = await failure(api().toggle('proj_alpha', ['cert_vanished'], true));
    expect(error.message).toMatch(/certificate cert_vanished was not found \(404\)/);
    expect(error.message).not.toMatch(/project proj_alpha was not found/);
  });

  it('404 on an unknown path points at base-url', async () => {
    const wrong = api({ baseURL: `${emu.origin}/v2` });
    const error = await failure(wrong.listScope(ORGANIZATION));
    expect(error.message).toMatch(/answered 404/);
    expect(error.hint).toMatch(/base-url/);
  });

  it('certificate_in_use: deactivate it everywhere first', async () => {
    const stored = emu.addCertificate(makeCa().pem, { activeProjects: ['proj_beta'] });
    const error = await failure(api().delete(stored.id));
    expect(error.message).toMatch(
      new RegExp(`^Could not delete certificate ${stored.id}: the API answered 400 certificate_in_use: "Certificate is still active`),
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/deactivate it everywhere first/);
  });

  it('mtls_certificate_invalid: what OpenAI accepts', async () => {
    const error = await failure(uploadRaw(api(), '-----BEGIN CERTIFICATE-----\nnotbase64\n-----END CERTIFICATE-----\n'));
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 400 mtls_certificate_invalid: "The certificate could not be parsed/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/CA:TRUE/);
  });

  it("expired_certificate: the API's own message, explained", async () => {
    const expired = await makeDatedCa(new Date(Date.now() - 30 * DAY), new Date(Date.now() - DAY), 'Expired CA');
    const error = await failure(uploadRaw(api(), expired.pem));
    expect(error.message).toMatch(
      /^Could not upload the certificate: the API answered 400 expired_certificate: "The certificate expired at \d{4}-/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/expire within one day: issue a new CA certificate/);

    const soon = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 3_600_000), 'Nearly expired CA');
    const late = await failure(uploadRaw(api(), soon.pem));
    expect(late.message).toMatch(/expired_certificate: "The certificate expires at .*more than one day\."/);
  });

  it('certificate_limit_exceeded (a race past the planning check): the cap and delete-expired', async () => {
    const other = makeCa();
    for (let i = 0; i < 50; i++) emu.addCertificate(other.pem);
    const error = await failure(uploadRaw(api(), makeCa().pem));
    expect(error.message).toMatch(/certificate_limit_exceeded/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/50 certificates/);
    expect(error.hint).toMatch(/delete-expired: true/);
  });

  it('a client-certificate refusal says to pass client-certificate and client-key', async () => {
    await start({ enforceOrgMtlsOnPlainHost: true });
    emu.addCertificate(makeCa().pem, { activeOrg: true });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.message).toMatch(/answered 403 mtls_required/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/client-certificate and client-key/);
  });

  it('429 after the retries: run later or raise max-retries', async () => {
    emu.addFault({ kind: 'status', status: 429, method: 'GET' });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.message).toMatch(/answered 429 rate_limit_exceeded/);
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/max-retries/);
  });

  it('5xx: OpenAI failed on its side', async () => {
    emu.addFault({ kind: 'status', status: 503, method: 'GET' });
    const error = await failure(api().listScope(ORGANIZATION));
    expect(error.message).toMatch(
      /^Could not list the certificates of the organization: the API answered 503: "Emulated fault: HTTP 503\."/,
    );
    expect(error.message).toMatch(REQUEST_ID);
    expect(error.hint).toMatch(/status\.openai\.com/);
  });

  it('a host that cannot be reached is named, with the reason', async () => {
    const port = await closedPort();
    const error = await failure(api({ baseURL: `http://127.0.0.1:${port}/v1` }).listScope(ORGANIZATION));
    expect(error.message).toBe(
      `Could not list the certificates of the organization: could not connect to 127.0.0.1:${port} (ECONNREFUSED).`,
    );
    expect(error.hint).toMatch(/DNS, firewall, proxy/);
    expect(error.message).not.toMatch(/request id/);
  });

  it('a request that times out names the host and the time limit', async () => {
    emu.addFault({ kind: 'hang', times: Infinity });
    const error = await failure(api({ timeout: 200 }).listScope(ORGANIZATION));
    expect(error.message).toMatch(
      new RegExp(`^Could not list the certificates of the organization: ${host.replace(/\./g, '\\.')} did not answer within `),
    );
    expect(error.message).toMatch(/timeout-seconds/);
    expect(error.hint).toMatch(/raise timeout-seconds/);
  });
});

describe('explainApiError, unit', () => {
  const context = { action: 'list the certificates of the organization', host: 'api.openai.com' };

  it('names the time limit when it is known', () => {
    expect(explainApiError(new APIConnectionTimeoutError(), { ...context, timeoutMs: 60_000 }).message).toBe(
      'Could not list the certificates of the organization: api.openai.com did not answer within 60 s (timeout-seconds).',
    );
    expect(explainApiError(new APIConnectionTimeoutError(), { ...context, timeoutMs: 1500 }).message).toMatch(/within 1\.5 s/);
  });

  it('walks the cause chain for the connection error code', () => {
    const cause = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
    });
    const error = explainApiError(new APIConnectionError({ message: 'Connection error.', cause }), context);
    expect(error.message).toBe('Could not list the certificates of the organization: could not connect to api.openai.com (ENOTFOUND).');
  });

  it('says what to do about TLS failures, by their code', () => {
    const withCode = (code: string) => {
      const cause = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('tls'), { code }) });
      return explainApiError(new APIConnectionError({ message: 'Connection error.', cause }), { ...context, host: 'mtls.api.openai.com' });
    };
    expect(withCode('ERR_OSSL_X509_KEY_VALUES_MISMATCH').hint).toMatch(/client-key is not the private key of client-certificate/);
    expect(withCode('ERR_OSSL_PEM_NO_START_LINE').hint).toMatch(/client-certificate or client-key could not be read/);
    expect(withCode('ERR_OSSL_UNSUPPORTED').hint).toMatch(/could not be read/);
    expect(withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE').hint).toMatch(/TLS certificate was not trusted.*NODE_EXTRA_CA_CERTS/);
    expect(withCode('SELF_SIGNED_CERT_IN_CHAIN').hint).toMatch(/not trusted/);
    expect(withCode('ERR_TLS_CERT_ALTNAME_INVALID').hint).toMatch(/not trusted/);
    expect(withCode('EPROTO').hint).toMatch(/TLS handshake failed/);
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'UND_ERR_SOCKET'])
      expect(withCode(code).hint).toMatch(/DNS, firewall, proxy/);
    expect(withCode('ECONNREFUSED').message).toBe(
      'Could not list the certificates of the organization: could not connect to mtls.api.openai.com (ECONNREFUSED).',
    );
  });

  it('uses only the message of the API, never the raw body, and shortens a long one', () => {
    const body = {
      error: { message: 'm'.repeat(500), type: 'invalid_request_error', param: null, code: null },
      secret_field: 'RAW-BODY-MARKER',
    };
    const error = explainApiError(APIError.generate(400, body, undefined, new Headers({ 'x-request-id': 'req_1' })), context);
    expect(error.message).not.toContain('RAW-BODY-MARKER');
    expect(error.message).toContain(`"${'m'.repeat(300)}…"`);
    expect(error.message).toMatch(/\(request id req_1\)\.$/);
  });

  it('leaves out the request id when there is none', () => {
    const error = explainApiError(APIError.generate(500, { error: { message: 'oops' } }, undefined, new Headers()), context);
    expect(error.message).toBe('Could not list the certificates of the organization: the API answered 500: "oops".');
  });

  it('passes an ActionError through and wraps anything else', () => {
    const original = new ActionError('already explained', { hint: 'h' });
    expect(explainApiError(original, context)).toBe(original);
    const wrapped = explainApiError(new Error('boom'), context);
    expect(wrapped.message).toBe('Could not list the certificates of the organization: boom');
    expect(wrapped.cause).toBeInstanceOf(Error);
  });

  it('hostOf gives host and port, or the text when it is not a URL', () => {
    expect(hostOf('https://api.openai.com/v1')).toBe('api.openai.com');
    expect(hostOf('http://127.0.0.1:8080/v1')).toBe('127.0.0.1:8080');
    expect(hostOf('not a url')).toBe('not a url');
  });
});
