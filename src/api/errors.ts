import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ActionError } from '../errors.js';
import { cut } from '../text.js';

/** The SDK's APIError with its type parameters spelt out (an `instanceof` check leaves them `any`). */
export type ApiFailure = APIError<number | undefined, Headers | undefined, object | undefined>;

/** The error as the SDK's APIError, when it is one. */
export function apiFailure(error: unknown): ApiFailure | undefined {
  return error instanceof APIError ? (error as ApiFailure) : undefined;
}

/** What was being done when a call failed, so the message can name it. */
export interface CallContext {
  /** e.g. "upload the certificate", "list the certificates of project proj_abc". */
  action: string;
  /** The API host the call went to. */
  host: string;
  certificateId?: string;
  projectId?: string;
  /** The time limit of each request (timeout-seconds), named when a request times out. */
  timeoutMs?: number;
  /** What the key needs for the call, named on a 403; by default the api.mtls.read or api.mtls.write permission. */
  permission?: string;
  /** The input that named the project, in a 404's hint. Default activate-projects. */
  projectInput?: string;
}

/**
 * Turns an SDK error into an ActionError that says what happened and what to do, with the API's
 * request id. Only the API's `message`, `code` and `param` are used: never the raw response body.
 */
export function explainApiError(error: unknown, context: CallContext): ActionError {
  if (error instanceof ActionError) return error;
  const failed = `Could not ${context.action}`;
  if (error instanceof APIConnectionTimeoutError) {
    const limit =
      context.timeoutMs === undefined ? 'the time limit (timeout-seconds)' : `${formatSeconds(context.timeoutMs)} (timeout-seconds)`;
    return new ActionError(`${failed}: ${context.host} did not answer within ${limit}.`, {
      title: 'api',
      hint: 'The API may be slow or down (see status.openai.com), or a proxy or firewall holds the connection. Try again later, or raise timeout-seconds.',
      cause: error,
    });
  }
  if (error instanceof APIConnectionError) {
    const reason = connectionCode(error);
    return new ActionError(`${failed}: could not connect to ${context.host}${reason ? ` (${reason})` : ''}.`, {
      title: 'api',
      hint: connectionHint(reason),
      cause: error,
    });
  }
  const failure = apiFailure(error);
  if (!failure) {
    return new ActionError(`${failed}: ${error instanceof Error ? error.message : String(error)}`, { title: 'api', cause: error });
  }

  const apiMessage = apiMessageOf(failure);
  const said = `${failed}: the API answered ${failure.status ?? 'with an error'}${failure.code ? ` ${failure.code}` : ''}${apiMessage ? `: "${apiMessage}"` : ''}`;
  const request = failure.requestID ? ` (request id ${failure.requestID})` : '';
  const make = (what: string, hint: string): ActionError => new ActionError(`${what}${request}.`, { title: 'api', hint, cause: failure });

  switch (failure.code) {
    case 'certificate_in_use':
      return make(
        said,
        'A certificate can be deleted only when it is inactive for the organization and every project: deactivate it everywhere first.',
      );
    case 'mtls_certificate_invalid':
      return make(
        said,
        'OpenAI refused the certificate as invalid: it must be one PEM X.509 CA certificate (CA:TRUE, Subject and Authority Key Identifiers, Key Usage keyCertSign and cRLSign), under 16 KB.',
      );
    case 'expired_certificate':
      return make(said, 'OpenAI refuses certificates that have expired or expire within one day: issue a new CA certificate.');
    case 'certificate_limit_exceeded':
      return make(
        said,
        'The organization holds 50 certificates, the most OpenAI allows: delete unused ones (delete-expired: true removes expired, inactive ones).',
      );
  }
  if (isClientCertificateRefusal(failure)) {
    return make(
      said,
      'Certificates are active at the organization level, and OpenAI then enforces client certificates on Admin API key requests too. Pass client-certificate and client-key (a client certificate chaining to an active CA, and its key, from secrets) so the action calls the mTLS host; if you already do, the client certificate must chain to a CA that is active for the organization and be within its validity.',
    );
  }
  switch (failure.status) {
    case 401:
      return make(
        `${failed}: the admin key was rejected (401)${apiMessage ? `: "${apiMessage}"` : ''}`,
        'admin-api-key must be an Admin API key of the organization (organization settings → Admin keys), not a project key; check that the secret holds the whole key and that the key was not revoked.',
      );
    case 403:
      return make(
        `${failed}: the admin key is not allowed to (403)${apiMessage ? `: "${apiMessage}"` : ''}`,
        `Give the Admin API key ${context.permission ?? `the ${/^(list|read|look|find|get)/.test(context.action) ? 'api.mtls.read' : 'api.mtls.write (and api.mtls.read)'} permission`}, or use a key that has it.`,
      );
    case 404:
      if (context.projectId && context.certificateId && /certificate/.test(failure.param ?? '')) {
        return make(
          `${failed}: certificate ${context.certificateId} was not found (404)`,
          'It may have been deleted while the action ran: run the action again.',
        );
      }
      if (context.projectId)
        return make(
          `${failed}: project ${context.projectId} was not found (404)`,
          `Check the id in ${context.projectInput ?? 'activate-projects'}: it must be a project of the organization of the admin key (organization settings → Projects).`,
        );
      if (context.certificateId)
        return make(
          `${failed}: certificate ${context.certificateId} was not found (404)`,
          'Check certificate-id: it must be a certificate of this organization, e.g. the certificate-id output of the step that uploaded it; it may have been deleted.',
        );
      return make(said, 'Check base-url: it must point at the OpenAI API (https://api.openai.com/v1).');
    case 429:
      return make(said, 'The API kept rate-limiting the action after its retries. Run it again later, or raise max-retries.');
  }
  if (failure.status !== undefined && failure.status >= 500) {
    return make(said, 'The OpenAI API failed on its side after the action retried. Try again later (see status.openai.com).');
  }
  return make(said, 'See the API message above; the action sent only the certificate, its name and certificate ids.');
}

/** The API's message, redacted and then cut at 300 characters: cut first, a key could be left in part. */
function apiMessageOf(error: ApiFailure): string {
  const body = error.error as { message?: unknown } | undefined;
  return cut(typeof body?.message === 'string' ? body.message : '', 300);
}

/**
 * A refusal for want of a client certificate (codes like `mtls_required`), not a missing permission:
 * "Missing scopes: api.mtls.write" mentions mTLS too, so the permission names are left out first.
 */
function isClientCertificateRefusal(error: ApiFailure): boolean {
  const text = `${error.code ?? ''} ${apiMessageOf(error)}`.toLowerCase().replace(/api\.mtls\.(read|write)/g, '');
  return (error.status === 401 || error.status === 403) && /mtls|client certificate|client_certificate/.test(text);
}

/** What to do about a connection that failed, by the error code Node or OpenSSL gave. */
function connectionHint(reason: string): string {
  if (/KEY_VALUES_MISMATCH/.test(reason)) {
    return 'client-key is not the private key of client-certificate: pass the key that belongs to the certificate (both from secrets).';
  }
  if (/^ERR_OSSL_(PEM|ASN1|UNSUPPORTED|DECODER)|^ERR_OSSL_.*(KEY|CERT|PEM)/.test(reason)) {
    return 'client-certificate or client-key could not be read: both must be PEM, the key unencrypted (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----).';
  }
  if (/^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/.test(reason)) {
    return "The server's TLS certificate was not trusted. Check base-url (and mtls-base-url); a proxy that inspects TLS needs its CA in NODE_EXTRA_CA_CERTS.";
  }
  if (/^(EPROTO|ERR_SSL_|ERR_TLS_)/.test(reason)) {
    return 'The TLS handshake failed. Check that base-url (or mtls-base-url) is an https URL of the OpenAI API, and, when a client certificate is presented, that the host accepts it.';
  }
  return 'Check that the runner can reach the host (DNS, firewall, proxy: HTTPS_PROXY and NO_PROXY), and that base-url is right.';
}

/** The error code Node, undici or OpenSSL gave a connection failure (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID...), or "". */
export function connectionCode(error: APIConnectionError): string {
  let cause: unknown = error.cause;
  for (let depth = 0; cause && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return '';
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
