/**
 * The one error type that leaves `api/`: every SDK failure, and every answer that cannot be read, becomes an
 * ApiError with a small vocabulary of kinds, built from the SDK's own error classes. Nothing outside `api/`
 * looks at the SDK's errors. What to do about an error that names an input (admin-api-key, base-url, a
 * project list) is said by the action that owns the input (src/inputs/hints.ts).
 */
import { formatSeconds } from '../wording.js';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ActionError } from '../errors.js';
import { cut } from '../text.js';

export type ApiErrorKind =
  | 'not-found'
  | 'conflict'
  | 'in-use'
  | 'limit'
  | 'invalid'
  | 'expired'
  | 'auth'
  | 'permission'
  | 'mtls-required'
  | 'rate-limit'
  | 'server'
  | 'connection'
  | 'timeout'
  | 'unreadable'
  | 'redirect'
  | 'refused'
  | 'aborted';

/** What was being done when a call failed, so the message can name it. */
export interface CallContext {
  /** e.g. "upload the certificate", "list the certificates of project proj_abc". */
  action: string;
  /** The API host the call went to (and the proxy, when one is used). */
  host: string;
  certificateId?: string;
  projectId?: string;
  /** The time limit of each request (timeout-seconds), named when a request times out. */
  timeoutMs?: number;
  /** What the key needs for the call, named on a 403. */
  permission?: string;
}

export interface ApiErrorFacts {
  kind: ApiErrorKind;
  /** The call, in words: "upload the certificate". */
  call: string;
  status: number | undefined;
  code: string | undefined;
  /** On `not-found`: what the API says was not found, when it can be told. */
  missing: 'certificate' | 'project' | undefined;
  /** The request may have taken effect: its answer was lost, cut, unreadable, or the status does not say. */
  maybeApplied: boolean;
  /** Trying again can help (what the SDK itself would retry, the server's `x-should-retry` first). */
  retryable: boolean;
  /** The server's `retry-after-ms` / `Retry-After`, in milliseconds. */
  retryAfterMs: number | undefined;
  /** Node's, undici's or OpenSSL's code for a connection failure (ECONNREFUSED...), or "". */
  connectionCode: string;
  /** The time limit that ran out, on `timeout`. */
  timeoutMs: number | undefined;
  permission: string | undefined;
  requestId: string | undefined;
  /** On `unreadable`: a list whose pages never ended (repeated, or more items than the scope can hold). */
  endless?: true;
}

export class ApiError extends ActionError {
  readonly facts: ApiErrorFacts;

  constructor(message: string, facts: ApiErrorFacts, hint?: string) {
    super(message, { title: 'api', ...(hint === undefined ? {} : { hint }) });
    this.name = 'ApiError';
    this.facts = facts;
  }

  get kind(): ApiErrorKind {
    return this.facts.kind;
  }

  /** The same error with another message and hint (e.g. "...so it is not known whether it was stored"). */
  restate(message: string, hint: string | undefined): ApiError {
    return new ApiError(message, this.facts, hint);
  }
}

/** Connection failures that happen before a request is sent: nothing can have been applied. */
const NOT_SENT =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPROTO|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|ERR_OSSL_)/;

function baseFacts(context: CallContext, kind: ApiErrorKind): ApiErrorFacts {
  return {
    kind,
    call: context.action,
    status: undefined,
    code: undefined,
    missing: undefined,
    maybeApplied: false,
    retryable: false,
    retryAfterMs: undefined,
    connectionCode: '',
    timeoutMs: context.timeoutMs,
    permission: context.permission,
    requestId: undefined,
  };
}

/**
 * Turns an SDK error into an ApiError that says what happened. Only the API's `message`, `code` and `param`
 * are used (redacted, then cut), never the raw response body.
 */
export function fromSdkError(error: unknown, context: CallContext, now: () => number = Date.now): ApiError {
  if (error instanceof ApiError) return error;
  const failed = `Could not ${context.action}`;
  if (error instanceof APIUserAbortError) {
    return new ApiError(`${failed}: the request was cancelled.`, { ...baseFacts(context, 'aborted'), maybeApplied: true });
  }
  if (error instanceof APIConnectionTimeoutError) {
    const limit = context.timeoutMs === undefined ? 'the time limit' : formatSeconds(context.timeoutMs);
    return new ApiError(`${failed}: ${context.host} did not answer within ${limit} (timeout-seconds).`, {
      ...baseFacts(context, 'timeout'),
      maybeApplied: true,
      retryable: true,
    });
  }
  if (error instanceof APIConnectionError) {
    const code = connectionCode(error);
    return new ApiError(`${failed}: could not connect to ${context.host}${code ? ` (${code})` : ''}.`, {
      ...baseFacts(context, 'connection'),
      connectionCode: code,
      maybeApplied: !NOT_SENT.test(code),
      retryable: true,
    });
  }
  if (!(error instanceof APIError)) {
    const text = error instanceof Error ? error.message : String(error);
    return new ApiError(`${failed}: ${cut(text, 300)}`, { ...baseFacts(context, 'unreadable'), maybeApplied: true });
  }
  const failure = error as APIError<number | undefined, Headers | undefined, object | undefined>;
  const status = failure.status;
  const apiMessage = apiMessageOf(failure);
  const code = failure.code ?? undefined;
  const facts: ApiErrorFacts = {
    ...baseFacts(context, kindOf(failure, apiMessage)),
    status,
    code,
    requestId: failure.requestID ?? undefined,
  };
  if (status !== undefined) {
    facts.maybeApplied = status === 408 || status === 409 || status >= 500;
    const hint = failure.headers?.get('x-should-retry');
    facts.retryable = hint === 'true' ? true : hint === 'false' ? false : facts.maybeApplied || status === 429;
    // A conflict that names what it is (a certificate in use, the cap) is an answer, not a lost one.
    if (facts.kind === 'in-use' || facts.kind === 'limit') {
      facts.maybeApplied = false;
      facts.retryable = false;
    }
    facts.retryAfterMs = failure.headers ? retryAfterMs(failure.headers, now) : undefined;
  }
  if (facts.kind === 'not-found') facts.missing = whatIsMissing(failure.param ?? '', apiMessage, context);
  const request = facts.requestId ? ` (request id ${facts.requestId})` : '';
  if (facts.kind === 'redirect') {
    const location = failure.headers?.get('location');
    return new ApiError(
      `${failed}: the API answered ${status} and redirects${location ? ` to ${redactUrl(location)}` : ''}${request}. The action does not follow redirects, so the admin key is never sent on to another address.`,
      facts,
    );
  }
  const said = `${failed}: the API answered ${status ?? 'with an error'}${code ? ` ${code}` : ''}${apiMessage ? `: "${apiMessage}"` : ''}`;
  if (facts.kind === 'not-found' && facts.missing) {
    const which = facts.missing === 'project' ? `project ${context.projectId ?? ''}` : `certificate ${context.certificateId ?? ''}`;
    return new ApiError(`${failed}: ${which.trim()} was not found (404)${request}.`, facts);
  }
  if (facts.kind === 'auth') return new ApiError(`${failed}: the admin key was rejected (401)${quote(apiMessage)}${request}.`, facts);
  if (facts.kind === 'permission')
    return new ApiError(`${failed}: the admin key is not allowed to (403)${quote(apiMessage)}${request}.`, facts);
  return new ApiError(`${said}${request}.`, facts);
}

function quote(message: string): string {
  return message ? `: "${message}"` : '';
}

function kindOf(failure: APIError, apiMessage: string): ApiErrorKind {
  const status = failure.status;
  const code = failure.code ?? '';
  if (code === 'certificate_in_use') return 'in-use';
  if (isLimit(status, code, apiMessage)) return 'limit';
  if (code === 'mtls_certificate_invalid') return 'invalid';
  if (code === 'expired_certificate') return 'expired';
  if (isClientCertificateRefusal(status, code, apiMessage)) return 'mtls-required';
  if (status === undefined) return 'unreadable';
  if (status >= 300 && status < 400) return 'redirect';
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate-limit';
  if (status >= 500) return 'server';
  return 'refused';
}

/**
 * The certificate cap, told by what it is rather than by one code: OpenAI's exact code is not documented,
 * so a code or a message that speaks of the limit, on a refusal that is not a rate limit, counts.
 */
function isLimit(status: number | undefined, code: string, message: string): boolean {
  if (/certificate_limit|limit_exceeded|too_many_certificates|max(imum)?_certificates/i.test(code) && code !== 'rate_limit_exceeded')
    return true;
  if (status === undefined || status === 429 || status >= 500) return false;
  return /(maximum|limit|at most|cap)\b.*\bcertificates?\b|\bcertificates?\b.*\b(maximum|limit|at most|cap)\b/i.test(message);
}

/**
 * A refusal for want of a client certificate (codes like `mtls_required`), not a missing permission:
 * "Missing scopes: api.mtls.write" mentions mTLS too, so the permission names are left out first.
 */
function isClientCertificateRefusal(status: number | undefined, code: string, message: string): boolean {
  const text = `${code} ${message}`.toLowerCase().replace(/api\.mtls\.(read|write)/g, '');
  return (status === 401 || status === 403) && /mtls|client certificate|client_certificate|certificate_required/.test(text);
}

/**
 * What a 404 says was not found: the parameter the API names first, then its message, then the call (a call
 * about one project and no certificate can only miss the project). Unknown when it cannot be told: a
 * certificate is never taken for gone on a guess.
 */
function whatIsMissing(param: string, message: string, context: CallContext): 'certificate' | 'project' | undefined {
  if (/project/i.test(param)) return 'project';
  if (/certificate/i.test(param)) return 'certificate';
  if (context.projectId && /project/i.test(message)) return 'project';
  if (context.certificateId && /certificate/i.test(message)) return 'certificate';
  if (context.projectId && !context.certificateId) return 'project';
  if (context.certificateId && !context.projectId) return 'certificate';
  return undefined;
}

/** The API's own message, redacted, then cut (so no fragment of a secret survives the cut). */
function apiMessageOf(error: APIError): string {
  const body: unknown = error.error;
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? cut(message, 300) : '';
}

/** The SDK's APIError with a status (not a connection failure), when the error is one. */
export function apiFailure(error: unknown): APIError<number | undefined, Headers | undefined, object | undefined> | undefined {
  return error instanceof APIError && !(error instanceof APIConnectionError)
    ? (error as APIError<number | undefined, Headers | undefined, object | undefined>)
    : undefined;
}

/** An answer with a 2xx status that is not what the call needs: a proxy page, a cut body, `{}`. */
export function unreadableAnswer(context: CallContext, status: number, what: string, maybeApplied: boolean): ApiError {
  return new ApiError(
    `Could not ${context.action}: the API answered ${status}, but ${what}. This is not the OpenAI API's answer: most likely a proxy or gateway answered in its place, or base-url points at the wrong server.`,
    { ...baseFacts(context, 'unreadable'), status, maybeApplied, retryable: maybeApplied },
  );
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

/** `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date, in milliseconds. */
export function retryAfterMs(headers: Headers, now: () => number = Date.now): number | undefined {
  const msValue = headers.get('retry-after-ms')?.trim();
  if (msValue && /^\d+(\.\d+)?$/.test(msValue)) return Math.ceil(Number(msValue));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // An HTTP date (IMF-fixdate, RFC 850 or asctime, all in GMT and all starting with the day's name):
  // Date.parse alone would also read "-3" or "1 2" as dates.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i.test(value)) return undefined;
  const date = Date.parse(/\b(GMT|UTC)\b/i.test(value) ? value : `${value} GMT`);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

/** A failure in words for a log line: `HTTP 500`, `timed out`, `connection failed`, `unreadable answer`. */
export function describeFailure(error: ApiError): string {
  switch (error.kind) {
    case 'timeout':
      return 'timed out';
    case 'connection':
      return 'connection failed';
    case 'unreadable':
      return error.facts.status === undefined ? 'unreadable answer' : `unreadable answer to HTTP ${error.facts.status}`;
    case 'aborted':
      return 'cancelled';
    default:
      return error.facts.status === undefined ? 'error' : `HTTP ${error.facts.status}`;
  }
}

/** A URL for the log: scheme, host and path only (no credentials, query or fragment). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(not a URL)';
  }
}
