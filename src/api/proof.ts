/**
 * The proof request of a staged rollout: one harmless read (the first page of the model list) sent to
 * the mTLS host with the canary project's API key, presenting the canary client certificate, through
 * the official SDK. It is retried with back-off until it passes or the bound (canary-timeout-seconds)
 * runs out, because an activation may take a moment to apply; failures that waiting cannot fix stop it
 * at once. Each failure is classified, and OpenAI's mTLS error codes are explained in terms of what to fix.
 */
import { formatSeconds } from '../wording.js';
import { APIConnectionError, APIConnectionTimeoutError } from 'openai';
import type { Logger } from '../log.js';
import { createClient } from './client.js';
import { apiFailure, connectionCode, hostOf } from './errors.js';

export interface ProofTarget {
  /** mtls-base-url, e.g. https://mtls.api.openai.com/v1. */
  mtlsBaseURL: string;
  /** An API key of the canary project. */
  apiKey: string;
  /** PEM: the canary client certificate, then any intermediates. */
  clientCertificate: string;
  clientKey: string;
  /** The bound on all attempts together, in milliseconds (canary-timeout-seconds). */
  timeoutMs: number;
}

export interface ProofDependencies {
  /** Milliseconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  log?: Logger;
  /** Where the proxy variables are read, as createClient reads them. */
  env?: NodeJS.ProcessEnv;
}

type ProofFailureKind =
  | 'certificate_required'
  | 'invalid_certificate'
  | 'certificate_verification_failed'
  | 'certificate_attribute_verification_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'server_error'
  | 'http_error'
  | 'connection_closed'
  | 'server_untrusted'
  | 'connection'
  | 'timeout';

interface ProofFailure {
  kind: ProofFailureKind;
  /** The HTTP status, when the API answered. */
  status?: number;
  /** The API's error code, when it gave one; the Node or OpenSSL code of a connection failure. */
  code?: string;
  /** The API's message (keys removed, cut at 300 characters), or what happened to the connection. */
  message: string;
  requestId?: string;
  /** Whether waiting may help: the proof tries again only after these. */
  retryable: boolean;
}

export interface ProofResult {
  passed: boolean;
  attempts: number;
  /** From the first attempt's start to the last one's end. */
  elapsedMs: number;
  /** The host the requests went to. */
  host: string;
  lastError?: ProofFailure;
  /** For a failed proof: what the last failure means and what to fix. */
  explanation?: string;
}

/** The first wait between attempts; each later one doubles, up to MAX_DELAY_MS. */
const INITIAL_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;
/** No single attempt waits longer than this for an answer, so a hung one leaves room for more. */
const MAX_REQUEST_MS = 30_000;
/** The shortest time limit an attempt gets, also when the bound is nearly spent. */
const MIN_REQUEST_MS = 1000;

/** Sends the proof request until it passes, a failure that waiting cannot fix occurs, or the bound runs out. */
export async function proveCanary(target: ProofTarget, deps: ProofDependencies): Promise<ProofResult> {
  const host = hostOf(target.mtlsBaseURL);
  const started = deps.now();
  const deadline = started + target.timeoutMs;
  let delay = INITIAL_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    const failure = await attemptOnce(target, Math.min(MAX_REQUEST_MS, Math.max(MIN_REQUEST_MS, deadline - deps.now())), deps.env);
    const elapsedMs = deps.now() - started;
    if (!failure) {
      deps.log?.info(`Proof request ${attempt} passed: ${host} accepted the canary client certificate and key (GET /models answered).`);
      return { passed: true, attempts: attempt, elapsedMs, host };
    }
    const said = describe(failure);
    const remaining = deadline - deps.now();
    if (!failure.retryable || remaining <= 0) {
      deps.log?.info(
        `Proof request ${attempt} failed: ${said}; ${failure.retryable ? `canary-timeout-seconds (${formatSeconds(target.timeoutMs)}) has run out` : 'waiting will not fix this'}.`,
      );
      return {
        passed: false,
        attempts: attempt,
        elapsedMs,
        host,
        lastError: failure,
        explanation: explain(failure, host, target.timeoutMs),
      };
    }
    const wait = Math.min(delay, remaining);
    deps.log?.info(`Proof request ${attempt} failed: ${said}; trying again in ${formatSeconds(wait)} (${formatSeconds(remaining)} left).`);
    await deps.sleep(wait);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

/** One request on a new connection: a connection kept alive from a refused attempt could carry the verdict of its handshake over. */
async function attemptOnce(target: ProofTarget, timeoutMs: number, env: NodeJS.ProcessEnv | undefined): Promise<ProofFailure | undefined> {
  // createClient builds the transport the other calls use (undici with the client certificate, through
  // a proxy when the environment names one); it takes an admin key, which is replaced here by the canary
  // project's key, sent as the ordinary bearer key the model list needs.
  const { client: transport } = await createClient(
    {
      adminApiKey: target.apiKey,
      baseURL: target.mtlsBaseURL,
      mtlsBaseURL: target.mtlsBaseURL,
      maxRetries: 0,
      timeoutMs,
      clientCertificate: target.clientCertificate,
      clientKey: target.clientKey,
    },
    env,
  );
  const client = transport.withOptions({ apiKey: target.apiKey, adminAPIKey: null });
  try {
    await client.models.list();
    return undefined;
  } catch (error) {
    return classify(error, target.apiKey);
  } finally {
    const dispatcher = (transport.fetchOptions as { dispatcher?: { destroy?: () => Promise<void> } } | undefined)?.dispatcher;
    await dispatcher?.destroy?.().catch(() => undefined);
  }
}

const MTLS_CODES = new Set<ProofFailureKind>([
  'certificate_required',
  'invalid_certificate',
  'certificate_verification_failed',
  'certificate_attribute_verification_failed',
]);

/** What a failed attempt was, and whether waiting may help. */
function classify(error: unknown, apiKey: string): ProofFailure {
  if (error instanceof APIConnectionTimeoutError) {
    return { kind: 'timeout', message: 'no answer within the time limit', retryable: true };
  }
  if (error instanceof APIConnectionError) {
    const code = connectionCode(error);
    const base = { message: code ? `the connection failed (${code})` : 'the connection failed', ...(code ? { code } : {}) };
    // A server that refuses the client certificate ends the handshake, and the client sees the connection
    // close: under TLS 1.3 after it has sent its request (undici: UND_ERR_SOCKET), under TLS 1.2 before
    // (ECONNRESET), or, where the alert is read, as an OpenSSL alert code.
    if (/^(UND_ERR_SOCKET|ECONNRESET|EPIPE)$|_ALERT_/.test(code)) return { kind: 'connection_closed', ...base, retryable: true };
    if (/^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/.test(code))
      return { kind: 'server_untrusted', ...base, retryable: false };
    return { kind: 'connection', ...base, retryable: true };
  }
  const failure = apiFailure(error);
  if (!failure) {
    return { kind: 'connection', message: redact(error instanceof Error ? error.message : String(error), apiKey), retryable: false };
  }
  const body = failure.error as { message?: unknown } | undefined;
  const message = redact(typeof body?.message === 'string' ? body.message : '', apiKey);
  const answer = {
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.code ? { code: failure.code } : {}),
    ...(failure.requestID ? { requestId: failure.requestID } : {}),
    message,
  };
  const code = failure.code ?? '';
  if (MTLS_CODES.has(code as ProofFailureKind)) {
    // Only a chain that does not verify yet may be the activation still taking effect.
    return { kind: code as ProofFailureKind, ...answer, retryable: code === 'certificate_verification_failed' };
  }
  const status = failure.status ?? 0;
  if (status === 401) return { kind: 'unauthorized', ...answer, retryable: false };
  if (status === 403) return { kind: 'forbidden', ...answer, retryable: false };
  if (status === 429) return { kind: 'rate_limited', ...answer, retryable: true };
  if (status >= 500) return { kind: 'server_error', ...answer, retryable: true };
  return { kind: 'http_error', ...answer, retryable: false };
}

/** The canary key, and anything shaped like an OpenAI key, removed before the text is cut, so no fragment survives. */
function redact(text: string, apiKey: string): string {
  let out = apiKey ? text.split(apiKey).join('[canary-api-key]') : text;
  out = out.replace(/sk-[A-Za-z0-9_-]{8,}/g, 'sk-[redacted]');
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

function describe(failure: ProofFailure): string {
  const status = failure.status === undefined ? '' : `${failure.status}${failure.code ? ` ${failure.code}` : ''}`;
  const request = failure.requestId ? ` (request id ${failure.requestId})` : '';
  if (status) return `the API answered ${status}${failure.message ? `: "${failure.message}"` : ''}${request}`;
  return failure.message;
}

/** What the failure means for the rollout, and what to fix. */
function explain(failure: ProofFailure, host: string, timeoutMs: number): string {
  const what = `The proof request to ${host} failed: ${describe(failure)}.`;
  const fix = ((): string => {
    switch (failure.kind) {
      case 'certificate_required':
        return `OpenAI received no client certificate, though the action presented canary-client-certificate: something between the runner and ${host} ends TLS itself (a TLS-inspecting proxy; add ${host} to NO_PROXY or exempt it from inspection), or mtls-base-url is not an mTLS host (use https://mtls.api.openai.com/v1, or https://mtls-eu.api.openai.com/v1 for an EU project).`;
      case 'invalid_certificate':
        return 'OpenAI could not use canary-client-certificate as a client certificate: it must be an X.509 client certificate (CA:FALSE, Extended Key Usage clientAuth when the extension is present, with an Authority Key Identifier), within its validity, presented leaf first and then its intermediates. Issue it again from the new CA.';
      case 'certificate_verification_failed':
        return `canary-client-certificate did not verify against a CA active for the canary project, for all of ${formatSeconds(timeoutMs)} (canary-timeout-seconds). Check that it is issued by the CA being rotated in and that every intermediate between them follows it in the input, leaf first (OpenAI fetches no missing intermediate): openssl verify -CAfile new-ca.pem -untrusted intermediates.pem client.pem. If it is, the activation may be taking longer to apply: raise canary-timeout-seconds.`;
      case 'certificate_attribute_verification_failed':
        return 'The certificate chains to an active CA, but a certificate filter (a CEL expression set for the organization or project) rejected its attributes. Issue the canary client certificate with the subject or names the filter expects, or change the filter.';
      case 'unauthorized':
        return 'canary-api-key was rejected: it must be a current API key of the canary project (project settings → API keys), stored whole in the secret.';
      case 'forbidden':
        return 'canary-api-key may not list models: use a key of the canary project with read access to models (a restricted key needs the Models read permission).';
      case 'rate_limited':
        return `The API kept rate-limiting the proof request for ${formatSeconds(timeoutMs)}: run again later, or raise canary-timeout-seconds.`;
      case 'server_error':
        return `The API failed on its side for ${formatSeconds(timeoutMs)} (see status.openai.com): run again later.`;
      case 'http_error':
        return 'Check mtls-base-url: it must be the base URL of an OpenAI mTLS host, such as https://mtls.api.openai.com/v1.';
      case 'connection_closed':
        return `${host} kept closing the connection for ${formatSeconds(timeoutMs)}. On an mTLS host this is how a client certificate refused in the TLS handshake shows: check that canary-client-certificate chains to the CA being rotated in (leaf first, then intermediates) and that its key matches, or raise canary-timeout-seconds if the activation is slow to apply. A proxy or firewall that cuts connections does the same: check HTTPS_PROXY and NO_PROXY.`;
      case 'server_untrusted':
        return `The TLS certificate of ${host} was not trusted. Check mtls-base-url; a proxy that inspects TLS needs its CA in NODE_EXTRA_CA_CERTS, and the mTLS host should be exempt from inspection, since the client certificate must reach OpenAI.`;
      case 'connection':
      case 'timeout':
        return `${host} could not be reached for ${formatSeconds(timeoutMs)}: check that the runner reaches it (DNS, firewall, proxy: HTTPS_PROXY and NO_PROXY) and that mtls-base-url is right, or raise canary-timeout-seconds.`;
    }
  })();
  return `${what} ${fix}`;
}
