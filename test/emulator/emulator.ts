/**
 * Emulator of OpenAI's admin certificate endpoints (mutual TLS trust anchors).
 *
 * A real HTTP(S) server on 127.0.0.1 (random port) that behaves strictly like the documented API
 * (see the OpenAPI excerpt for /organization/certificates and /organization/projects/{id}/certificates),
 * so that tests, the demo script and benchmarks can drive it with the real `openai` SDK. It also lists
 * projects (GET /organization/projects, as `client.admin.organization.projects.list()` sends it), since
 * a caller that targets "every project" has to page through them.
 *
 * Faults reproduce what the real service, or something between it and the caller, does on a bad day:
 * error statuses (with the SDK's `x-should-retry` hint), dropped connections, hangs, late commits (the
 * request is applied after the client gave up, so a blind retry stores a second copy), thin answers
 * (fields missing or `null`), holds (a request waits, so concurrent runs interleave), 2xx answers of the
 * wrong shape (a proxy's HTML page, `{}`, an empty list), answers that pretend a change was applied,
 * 2xx answers cut short or empty after the change was committed, and redirects. A rule may apply to a
 * seeded random share of the requests it matches (`probability`, `faultSeed`).
 *
 * Other distrust is set by options, all mutable later on the returned object: a `Date` header off by
 * `clockOffsetMs`; a seeded random `latency` per request; `listing` quirks (ignore `order`, drop the
 * query string as a gateway would, `has_more: true` forever, a page's last item repeated on the next);
 * the `certificateLimit` (cap, status and code of the refusal; checked and stored in one synchronous
 * step, so concurrent uploads never exceed it); certificates listed with `null` dates (`nullDates`).
 *
 * The HTTPS mode can act as the mTLS host (`requireClientCertificate`): admin-key requests need a client
 * certificate chaining to a CA in effect at organization level; requests with a project key
 * (`projectKeys`, e.g. GET /v1/models) need one chaining to a CA in effect for that project (else the
 * organization) and are refused with OpenAI's mTLS error codes. Chains are leaf first, then the
 * intermediates the client presented. An activation can take effect there only after
 * `activationDelayMs`, while the management API lists it active at once.
 *
 * Only Node built-ins are used, and only erasable TypeScript syntax, so Node >= 24 can import this file
 * directly (built-in type stripping): `import { startEmulator } from '../test/emulator/emulator.ts'`.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { X509Certificate, randomBytes, randomInt } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

export interface EmulatorOptions {
  /** Accepted bearer token. Default `'sk-admin-emulator-test-key'`. */
  adminKey?: string;
  /**
   * Existing projects, in creation order (the order GET /organization/projects lists them): ids, or
   * objects for a name or an archived project; both may be mixed. Default
   * `['proj_alpha', 'proj_beta', 'proj_gamma']`. A project given as a bare id is active and named after
   * its id. Archived projects are listed only with `include_archived=true`; their certificate endpoints
   * keep working.
   */
  projects?: ReadonlyArray<string | ProjectDefinition>;
  /** Delay added before answering every request (also mutable later through `Emulator.latencyMs`). */
  latencyMs?: number;
  /** Serve HTTPS with this server key/cert (PEM) instead of HTTP. */
  tls?: { key: string; cert: string };
  /**
   * With `tls`: request a client certificate and answer 401 `mtls_client_certificate_required` to any
   * admin-key (or unknown-key) request whose client certificate does not chain to a certificate in effect
   * at ORGANIZATION level (directly, or through intermediates the client presented after its leaf; every
   * certificate on the way valid now). With nothing in effect at organization level, every such request
   * is refused. Project-key requests follow the project rule instead (see `projectKeys`).
   */
  requireClientCertificate?: boolean;
  /**
   * Emulate the documented caution: once any certificate is active at organization level, requests on
   * this (non-client-certificate) server get 403 `mtls_required`. Ignored when `requireClientCertificate`.
   */
  enforceOrgMtlsOnPlainHost?: boolean;
  /**
   * How `include[]=content` returns the PEM: `single-line` (default), the shape OpenAI's documentation
   * shows (`-----BEGIN CERTIFICATE-----MIID...-----END CERTIFICATE-----`), or `as-uploaded`.
   */
  contentStyle?: 'as-uploaded' | 'single-line';
  /**
   * Every answer carries a `Date` header (RFC 7231, second precision) this many ms off the emulator's
   * clock: positive = the API's clock is ahead. Only the header moves; the emulator's own decisions
   * (expiry checks, `created_at`) keep the machine's clock. Default 0; mutable later
   * (`Emulator.clockOffsetMs`).
   */
  clockOffsetMs?: number;
  /**
   * Random hold before every request is handled, drawn uniformly from [minMs, maxMs] by a PRNG seeded
   * with `seed` (default 1), in the order requests arrive; added to `latencyMs`. Mutable later
   * (`Emulator.latency`; setting it replaces the generator with one seeded afresh).
   */
  latency?: LatencyOptions;
  /** How certificate lists misbehave (gateways, buggy pagination). Mutable later (`Emulator.listing`). */
  listing?: ListingQuirks;
  /** The certificate cap and how an upload beyond it is refused. Mutable later (`Emulator.certificateLimit`). */
  certificateLimit?: CertificateLimit;
  /**
   * Project API keys, key → project id. A project key may call GET /v1/models (not the admin
   * endpoints). On the mTLS host (`tls` + `requireClientCertificate`) such a request must present a client
   * certificate (leaf first, then any intermediates) that chains to a CA in effect for that project
   * (else, when none is in effect there, for the organization); it is refused otherwise with OpenAI's mTLS
   * error codes (see `MtlsRefusal`). Mutable later (`Emulator.projectKeys`).
   */
  projectKeys?: Record<string, string>;
  /**
   * An activation is listed by the management API at once, but the mTLS host trusts the CA only this
   * many ms later (per certificate and scope, from the activation request). Deactivation takes effect at
   * once. Default 0; mutable later (`Emulator.activationDelayMs`).
   */
  activationDelayMs?: number;
  /**
   * Optional CEL-filter stand-in for project-key requests on the mTLS host: called with the verified
   * client leaf and the project id; `false` refuses the request with 403
   * `certificate_attribute_verification_failed`.
   */
  clientCertificatePredicate?: (leaf: X509Certificate, projectId: string) => boolean;
  /** Seed of the PRNG that decides fault rules with a `probability`. Default 1. */
  faultSeed?: number;
}

export interface LatencyOptions {
  minMs: number;
  maxMs: number;
  /** PRNG seed (an integer). Default 1. */
  seed?: number;
}

export interface ListingQuirks {
  /**
   * Certificate lists (organization and project): `as-asked` (default) honours `order`; `desc` / `asc`
   * ignore it and always list newest / oldest first; `shuffled` ignores it and lists in a fixed
   * pseudo-random order derived from `seed` and each id (stable across pages, so cursors still work).
   */
  order?: 'as-asked' | 'desc' | 'asc' | 'shuffled';
  /** Seed for `order: 'shuffled'`. Default 1. */
  seed?: number;
  /**
   * Every request's query string is dropped before it is handled, as a misconfigured gateway does:
   * `limit`, `after`, `order` and `include[]` are all lost. The request is recorded with the query the
   * client sent and `queryDropped: true`.
   */
  dropQuery?: boolean;
  /** Certificate lists always say `has_more: true`. */
  alwaysHasMore?: boolean;
  /**
   * A certificate list page asked for with `after=X` starts with X itself, so each page repeats the
   * previous page's last item (with `limit=1` the list never advances).
   */
  repeatLastItem?: boolean;
}

export interface CertificateLimit {
  /** Most certificates the organization may hold. Default `MAX_CERTIFICATES` (50). */
  max?: number;
  /** Status of the refusal. Default 400. */
  status?: number;
  /** Error code of the refusal. Default `certificate_limit_exceeded` (OpenAI does not document it). */
  code?: string;
  /** Error type. Default by status. */
  type?: string;
}

/** The error codes the mTLS host refuses a project-key request with, and the status each is sent with. */
export type MtlsRefusal =
  | 'certificate_required' // 401: no client certificate presented
  | 'invalid_certificate' // 401: the leaf is not valid now, or is a CA certificate
  | 'certificate_verification_failed' // 401: the chain does not end at a CA in effect for the project or organization
  | 'certificate_attribute_verification_failed'; // 403: `clientCertificatePredicate` said no

export interface ProjectDefinition {
  /** `proj_` + alphanumerics. */
  id: string;
  /** Default: the id. */
  name?: string;
  /** Default false. An archived project has `archived_at` set and `status: 'archived'`. */
  archived?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/organization/certificates`. */
  path: string;
  /** Parsed query; keys exactly as sent (decoded), e.g. `include[]`; repeated keys give arrays. */
  query: Record<string, string | string[]>;
  /** Parsed JSON body, or null when there was none or it was not valid JSON. */
  body: unknown;
  /** `Date.now()` when the request was fully received. */
  time: number;
  /** Subject of the TLS client certificate, when one was presented. */
  clientCertSubject?: string;
  /** Subjects of the intermediates the client presented after its leaf, when there were any. */
  clientCertChainSubjects?: string[];
  /** Set when `listing.dropQuery` removed the query before the request was handled. */
  queryDropped?: true;
  /** Random hold (`latency`) plus `hold` faults this request waited before it was handled, in ms. */
  heldMs?: number;
}

export interface Fault {
  /** HTTP method to match (case-insensitive); any when omitted. */
  method?: string;
  /**
   * Path to match against the request path without query. A string matches either the full path
   * (`/v1/organization/certificates`) or the path relative to the base URL (`/organization/certificates`).
   * A RegExp is tested against the full path. Any path when omitted.
   */
  path?: string | RegExp;
  /** How many matching requests this rule applies to. Default 1. `Infinity` is allowed. */
  times?: number;
  /**
   * Chance (0 to 1) that the rule applies to a matching request, drawn from the emulator's seeded fault
   * PRNG (`EmulatorOptions.faultSeed`) in the order requests arrive. A request it passes over does not
   * use up `times`, and the next matching rule (or none) decides. Always applies when omitted.
   */
  probability?: number;
  /**
   * - `status`: answer an error (`status`, `code`, `message`, `type`, `headers`, `shouldRetry`); nothing is applied.
   * - `drop-before`: close the connection without applying the request.
   * - `drop-after`: apply the request, then close the connection without an answer.
   * - `hang`: never answer and never apply (until `close()`).
   * - `late` (late commit): hold the request for `delayMs`, then apply it (an upload gets its `created_at`
   *   at that moment) WHETHER OR NOT the client is still connected, then answer normally if it still is.
   *   This is what a slow service does to a client that timed out, and to the SDK's blind retry: both
   *   copies end up stored. Pending late commits are cancelled by `close()`; see `Emulator.settled()`.
   * - `thin` (thin answer): apply the request and answer it as usual, but, when the answer is a 200, with
   *   `omit` keys removed from `certificate_details` of every certificate object in it (the object itself
   *   or each item of its `data`), and `certificate_details.content` replaced by `replaceContent` where
   *   present, and `nullify` keys set to `null`. An error answer is sent unchanged (the rule is consumed
   *   all the same).
   * - `hold`: wait `delayMs`, then handle the request as if this rule did not exist (another matching
   *   rule of a different kind, or none, decides what happens next). Lets concurrent runs interleave.
   * - `wrong-shape`: answer `status` (default 200) with a body of the wrong shape (`shape`): an HTML page
   *   (`text/html`), `{}`, or an empty list `{"object":"list","data":[]}`. The request is applied first
   *   only with `apply: true`.
   * - `pretend`: answer exactly as if the request had been applied (an activation lists its
   *   certificates active, an upload returns a new id), but leave the state as it was.
   * - `cut`: apply the request, then, when its answer is a 2xx, send it `cut`: `truncated` (the first half
   *   of the JSON, with a matching content-length) or `empty` (no body at all). An error is sent whole.
   * - `redirect`: answer `status` (default 307) with a `Location` (default: the same path and query
   *   under `/moved` on this emulator, where every path is 404) and no body; nothing is applied. Note
   *   that fetch follows a redirect by itself unless told not to.
   */
  kind: 'status' | 'drop-before' | 'drop-after' | 'hang' | 'late' | 'thin' | 'hold' | 'wrong-shape' | 'pretend' | 'cut' | 'redirect';
  /** For `status`: the HTTP status. Default 500. Also for `wrong-shape` (default 200) and `redirect` (default 307). */
  status?: number;
  /** For `status`: error code. Default null (`rate_limit_exceeded` for 429). */
  code?: string;
  /** For `status`: error message. */
  message?: string;
  /** For `status`: error type. Default by status (`requests` for 429, `server_error` for 5xx, else `invalid_request_error`). */
  type?: string;
  /** For `status`: extra response headers, e.g. `{ 'Retry-After': '1' }` or `{ 'retry-after-ms': '10' }`. */
  headers?: Record<string, string>;
  /**
   * For `status`: send `x-should-retry: true|false`. The SDK obeys it before anything else: `false`
   * stops its retry of a 5xx/429, `true` makes it retry even a 400. Not sent when omitted.
   */
  shouldRetry?: boolean;
  /** For `late` and `hold`: how long the request is held, in ms. Default 500. */
  delayMs?: number;
  /**
   * For `late`: a barrier. The request is applied and answered as soon as this settles, or after `delayMs`,
   * whichever comes first (so a test can hold every racing upload until all of them have arrived, however
   * slowly a busy machine starts the runs).
   */
  until?: Promise<unknown>;
  /** For `wrong-shape`: the body. Default `html`. */
  shape?: 'html' | 'empty-object' | 'empty-list';
  /** For `wrong-shape`: apply the request before answering. Default false. */
  apply?: boolean;
  /** For `cut`: how the answer is cut. Default `truncated`. */
  cut?: 'truncated' | 'empty';
  /** For `redirect`: the `Location` header. */
  location?: string;
  /** For `thin`: `certificate_details` keys set to `null` (where present). */
  nullify?: Array<'valid_at' | 'expires_at'>;
  /** For `thin`: keys removed from `certificate_details`. Default `['content']`, or `[]` with `replaceContent`. */
  omit?: Array<'content' | 'valid_at' | 'expires_at'>;
  /** For `thin`: replaces `certificate_details.content` (where the answer has it), e.g. `'not a certificate'`. */
  replaceContent?: string;
}

export interface StoredCertificate {
  /** `cert_` + 24 random alphanumerics. */
  id: string;
  name: string | null;
  /** Unix seconds. */
  created_at: number;
  /** Exactly as received. */
  pem: string;
  /** Unix seconds, from X509Certificate validFrom. */
  valid_at: number;
  /** Unix seconds, from X509Certificate validTo. */
  expires_at: number;
  /** SHA-256 fingerprint, colon-separated upper-case hex (X509Certificate.fingerprint256). */
  fingerprint: string;
  activeOrg: boolean;
  activeProjects: Set<string>;
  /** Dates the API lists (and retrieves) as `null` for this certificate, whatever the PEM says. */
  nullDates?: Array<'valid_at' | 'expires_at'>;
}

export interface AddCertificateOptions {
  name?: string | null;
  activeOrg?: boolean;
  activeProjects?: string[];
  /**
   * Unix seconds. Default a minute ago: a seeded certificate stands for one stored before the run that meets
   * it (OpenAI's created_at is in whole seconds, and the action orders same-dated CAs by it).
   */
  createdAt?: number;
  /** Store even if the upload checks (size, single block, expiry, parseable) would refuse it. */
  skipValidation?: boolean;
  /** Dates listed and retrieved as `null` (see `StoredCertificate.nullDates`). */
  nullDates?: Array<'valid_at' | 'expires_at'>;
}

export interface Emulator {
  /** e.g. `http://127.0.0.1:PORT/v1` */
  baseURL: string;
  /** e.g. `http://127.0.0.1:PORT` */
  origin: string;
  /** Every request received, in order (including faulted ones). */
  requests: RecordedRequest[];
  /** Live state, readable and mutable by tests, in insertion order. */
  certificates: StoredCertificate[];
  /** Pending fault rules (consumed ones are removed). */
  faults: Fault[];
  /** Current added latency; may be changed at any time. */
  latencyMs: number;
  /** Offset of the `Date` header from the machine's clock, ms; may be changed at any time. */
  clockOffsetMs: number;
  /** Random hold per request (see `EmulatorOptions.latency`); assigning it reseeds the generator. */
  latency: LatencyOptions | undefined;
  /** List quirks (see `ListingQuirks`); may be changed at any time. */
  listing: ListingQuirks;
  /** The certificate cap and its refusal (see `CertificateLimit`); may be changed at any time. */
  certificateLimit: CertificateLimit;
  /** Project API keys, key → project id; may be changed at any time. */
  projectKeys: Record<string, string>;
  /** Delay before an activation is enforced on the mTLS host, ms; may be changed at any time. */
  activationDelayMs: number;
  addCertificate(pem: string, opts?: AddCertificateOptions): StoredCertificate;
  addFault(f: Fault): void;
  /** Ids of the certificates active at organization level (`'organization'`) or in the given project. */
  activeIn(scope: 'organization' | string): string[];
  /**
   * Ids of the certificates the mTLS host trusts now for the scope: active there and past
   * `activationDelayMs` since their activation.
   */
  enforcedIn(scope: 'organization' | string): string[];
  /**
   * Resolves once no late commit (fault kind `late`) is pending: immediately when none is, else when the
   * last pending one has been applied, or cancelled by `close()`. A late commit is pending from the
   * moment its request is recorded in `requests`, so await this after the client call has returned or
   * failed (or after the request shows up in `requests`), then check the state.
   */
  settled(): Promise<void>;
  /** Stops the server: destroys open connections and cancels timers, including pending late commits. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------

export const DEFAULT_ADMIN_KEY = 'sk-admin-emulator-test-key';
export const DEFAULT_PROJECTS: readonly string[] = ['proj_alpha', 'proj_beta', 'proj_gamma'];
export const MAX_CERTIFICATES = 50;
export const MAX_IDS_PER_TOGGLE = 10;
export const MAX_CERTIFICATE_BYTES = 16384;
export const MIN_REMAINING_VALIDITY_SECONDS = 86400;
export const DEFAULT_LATE_DELAY_MS = 500;

const CERT_ID_RE = /^cert_[A-Za-z0-9]+$/;
const PROJECT_ID_RE = /^proj_[A-Za-z0-9]+$/;
const MAX_BODY_BYTES = 1024 * 1024;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

class ApiError extends Error {
  status: number;
  code: string | null;
  param: string | null;
  type: string;
  headers: Record<string, string>;
  constructor(
    status: number,
    message: string,
    code: string | null = null,
    param: string | null = null,
    type?: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
    this.type = type ?? defaultErrorType(status);
    this.headers = headers;
  }
}

function defaultErrorType(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function errorBody(e: ApiError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

const notFoundCertificate = (id: string): ApiError => new ApiError(404, `No certificate found with id '${id}'.`, null, 'certificate_id');
const notFoundProject = (id: string): ApiError => new ApiError(404, `No project found with id '${id}'.`, null, 'project_id');

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

function randomAlnum(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same sequence of floats in [0, 1). Exported
 * so that test harnesses draw their own randomness the same way.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, 32 bits: a stable pseudo-random sort key for `listing.order: 'shuffled'`. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const MODELS = ['gpt-4o-mini', 'gpt-4.1-mini', 'text-embedding-3-small'];

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Access checkpoint</title></head><body><h1>Please wait</h1><p>Your request is being checked by the network proxy.</p></body></html>\n';

const newCertificateId = (): string => `cert_${randomAlnum(24)}`;
const newRequestId = (): string => `req_${randomBytes(16).toString('hex')}`;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 6)}${'*'.repeat(Math.min(key.length - 10, 20))}${key.slice(-4)}`;
}

interface ParsedCertificate {
  x509: X509Certificate;
  valid_at: number;
  expires_at: number;
  fingerprint: string;
}

/** Upload checks: a string with exactly one PEM CERTIFICATE block, <= 16 KiB, parseable, > 1 day left. */
function inspectUpload(certificate: unknown): ParsedCertificate {
  const invalid = (message: string): ApiError => new ApiError(400, message, 'mtls_certificate_invalid', 'certificate');
  if (typeof certificate !== 'string') throw invalid("Invalid type for 'certificate': expected a string containing a PEM certificate.");
  if (Buffer.byteLength(certificate, 'utf8') > MAX_CERTIFICATE_BYTES) {
    throw invalid(`The certificate is larger than the maximum of ${MAX_CERTIFICATE_BYTES} bytes.`);
  }
  const begins = certificate.match(/-----BEGIN [^\r\n-]*-----/g) ?? [];
  if (begins.length !== 1) {
    throw invalid(`The certificate must contain exactly one PEM 'CERTIFICATE' block; found ${begins.length} PEM block(s).`);
  }
  const block = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(certificate);
  if (!block) throw invalid("The certificate must contain exactly one PEM 'CERTIFICATE' block.");
  const parsed = parseCertificate(block[0]);
  if (!parsed) throw invalid('The certificate could not be parsed as an X.509 certificate.');
  const now = nowSeconds();
  if (parsed.expires_at <= now) {
    throw new ApiError(
      400,
      `The certificate expired at ${new Date(parsed.expires_at * 1000).toISOString()}.`,
      'expired_certificate',
      'certificate',
    );
  }
  if (parsed.expires_at - now <= MIN_REMAINING_VALIDITY_SECONDS) {
    throw new ApiError(
      400,
      `The certificate expires at ${new Date(parsed.expires_at * 1000).toISOString()}; it must remain valid for more than one day.`,
      'expired_certificate',
      'certificate',
    );
  }
  return parsed;
}

function parseCertificate(pem: string): ParsedCertificate | null {
  try {
    const x509 = new X509Certificate(pem);
    return {
      x509,
      valid_at: Math.floor(x509.validFromDate.getTime() / 1000),
      expires_at: Math.floor(x509.validToDate.getTime() / 1000),
      fingerprint: x509.fingerprint256,
    };
  } catch {
    return null;
  }
}

function parseQuery(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const media = header.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json';
}

function readBody(req: IncomingMessage): Promise<{ raw: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve({ raw: Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

/**
 * A `thin` fault's answer: drop `omit` keys from `certificate_details` of the certificate object, or of
 * each item of a list's `data`, and replace the content where there is one. Mutates the fresh answer.
 */
function thinOut(body: unknown, omit: readonly string[], replaceContent: string | undefined, nullify: readonly string[] = []): void {
  const items: unknown[] = isPlainObject(body) && Array.isArray(body['data']) ? body['data'] : [body];
  for (const item of items) {
    if (!isPlainObject(item)) continue;
    const d = item['certificate_details'];
    if (!isPlainObject(d)) continue;
    for (const k of omit) delete d[k];
    for (const k of nullify) if (k in d) d[k] = null;
    if (replaceContent !== undefined && 'content' in d) d['content'] = replaceContent;
  }
}

/**
 * The client certificates of a TLS connection as the client presented them: leaf first, then the
 * intermediates it sent, linked issuer by issuer by Node. The server is given no CA of its own (Node
 * could only append a public root from its default store, which no test chain leads to). Empty on plain
 * HTTP or when the client presented none.
 */
function presentedChain(sock: Partial<TLSSocket>): X509Certificate[] {
  if (typeof sock.getPeerCertificate !== 'function') return [];
  const out: X509Certificate[] = [];
  const seen = new Set<unknown>();
  let c: DetailedPeerCertificate | undefined = sock.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  while (c && c.raw && !seen.has(c)) {
    seen.add(c);
    try {
      out.push(new X509Certificate(c.raw));
    } catch {
      break;
    }
    c = c.issuerCertificate === c ? undefined : c.issuerCertificate;
  }
  return out;
}

function faultMatches(f: Fault, method: string, path: string): boolean {
  if (f.method && f.method.toUpperCase() !== method) return false;
  if (f.path === undefined) return true;
  if (typeof f.path === 'string') return f.path === path || `/v1${f.path}` === path;
  f.path.lastIndex = 0;
  return f.path.test(path);
}

// ---------------------------------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------------------------------

interface ProjectRecord {
  id: string;
  name: string;
  created_at: number;
  archived_at: number | null;
}

/** Projects in creation order; a repeated id keeps its first definition. Created one day apart, in the past. */
function projectRecords(defs: ReadonlyArray<string | ProjectDefinition>): ProjectRecord[] {
  const now = nowSeconds();
  const out: ProjectRecord[] = [];
  const seen = new Set<string>();
  defs.forEach((d, i) => {
    const def = typeof d === 'string' ? { id: d } : d;
    if (seen.has(def.id)) return;
    seen.add(def.id);
    const created = now - 86400 * (defs.length - i);
    out.push({ id: def.id, name: def.name ?? def.id, created_at: created, archived_at: def.archived ? created + 3600 : null });
  });
  return out;
}

function projectObject(p: ProjectRecord): unknown {
  return {
    object: 'organization.project',
    id: p.id,
    name: p.name,
    created_at: p.created_at,
    archived_at: p.archived_at,
    status: p.archived_at === null ? 'active' : 'archived',
  };
}

// ---------------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------------

interface Ctx {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  body: Record<string, unknown>;
  params: string[];
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Operation {
  /** Allowed query parameter names. */
  query: string[];
  /** Allowed body fields; undefined means the operation takes no body. */
  body?: string[];
  run(ctx: Ctx): unknown;
}

interface Route {
  re: RegExp;
  methods: Record<string, Operation>;
}

// ---------------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------------

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const adminKey = opts.adminKey ?? DEFAULT_ADMIN_KEY;
  const projectList = projectRecords(opts.projects ?? DEFAULT_PROJECTS);
  const projects = new Set(projectList.map((p) => p.id));
  const requireClientCert = Boolean(opts.tls && opts.requireClientCertificate);
  const enforceOrgMtls = Boolean(opts.enforceOrgMtlsOnPlainHost) && !requireClientCert;
  const contentOf = (pem: string): string => (opts.contentStyle !== 'as-uploaded' ? pem.replace(/\r?\n/g, '') : pem);
  let latency: LatencyOptions | undefined = opts.latency ? { ...opts.latency } : undefined;
  let nextRandom = seededRandom(latency?.seed ?? 1);
  const faultRandom = seededRandom(opts.faultSeed ?? 1);
  // When an activation takes effect on the mTLS host, per `${certificate id} ${scope}` (scope:
  // 'organization' or a project id), in ms. A certificate active in a scope without an entry (seeded
  // through addCertificate, or set by a test directly) is in effect already.
  let effectiveFrom = new Map<string, number>();
  const effectKey = (id: string, scope: string): string => `${id} ${scope}`;

  const certificates: StoredCertificate[] = [];
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const x509Cache = new Map<string, X509Certificate | null>();
  let closed = false;
  // Late commits not applied yet, and the `settled()` callers waiting for them to be.
  let pendingLate = 0;
  let settledWaiters: Array<() => void> = [];

  function wakeSettled(): void {
    const waiters = settledWaiters;
    settledWaiters = [];
    for (const w of waiters) w();
  }

  // ---- state helpers ----

  function findCertificate(id: string): StoredCertificate | undefined {
    return certificates.find((c) => c.id === id);
  }

  function details(c: StoredCertificate): { valid_at: number | null; expires_at: number | null } {
    const hidden = c.nullDates ?? [];
    return {
      valid_at: hidden.includes('valid_at') ? null : c.valid_at,
      expires_at: hidden.includes('expires_at') ? null : c.expires_at,
    };
  }

  function certificateObject(c: StoredCertificate, withContent = false): unknown {
    return {
      object: 'certificate',
      id: c.id,
      name: c.name,
      created_at: c.created_at,
      certificate_details: withContent ? { ...details(c), content: contentOf(c.pem) } : details(c),
    };
  }

  /** scope: null = organization, else a project id. */
  function scopedObject(c: StoredCertificate, project: string | null): unknown {
    return {
      object: project === null ? 'organization.certificate' : 'organization.project.certificate',
      id: c.id,
      name: c.name,
      active: project === null ? c.activeOrg : c.activeProjects.has(project),
      created_at: c.created_at,
      certificate_details: details(c),
    };
  }

  /** The list in the order asked for, unless `listing.order` makes the emulator ignore it. */
  function sorted(asked: 'asc' | 'desc'): StoredCertificate[] {
    const quirk = emulator.listing.order ?? 'as-asked';
    if (quirk === 'shuffled') {
      const seed = emulator.listing.seed ?? 1;
      return certificates
        .map((c) => ({ c, k: hash32(`${seed}:${c.id}`) }))
        .sort((a, b) => a.k - b.k || (a.c.id < b.c.id ? -1 : 1))
        .map((x) => x.c);
    }
    const order = quirk === 'as-asked' ? asked : quirk;
    const asc = certificates
      .map((c, i) => ({ c, i }))
      .sort((a, b) => a.c.created_at - b.c.created_at || a.i - b.i)
      .map((x) => x.c);
    return order === 'asc' ? asc : asc.reverse();
  }

  function cachedX509(pem: string): X509Certificate | null {
    let x = x509Cache.get(pem);
    if (x === undefined) {
      try {
        x = new X509Certificate(pem);
      } catch {
        x = null;
      }
      x509Cache.set(pem, x);
    }
    return x;
  }

  /** Active in the scope ('organization' or a project id) and past its activation delay. */
  function inEffect(c: StoredCertificate, scope: string): boolean {
    const active = scope === 'organization' ? c.activeOrg : c.activeProjects.has(scope);
    return active && (effectiveFrom.get(effectKey(c.id, scope)) ?? 0) <= Date.now();
  }

  function anchorsIn(scope: string): X509Certificate[] {
    const out: X509Certificate[] = [];
    for (const c of certificates) {
      if (!inEffect(c, scope)) continue;
      const ca = cachedX509(c.pem);
      if (ca) out.push(ca);
    }
    return out;
  }

  const withinValidity = (x: X509Certificate): boolean => {
    const now = Date.now();
    return now >= x.validFromDate.getTime() && now <= x.validToDate.getTime();
  };

  function issued(child: X509Certificate, parent: X509Certificate): boolean {
    try {
      return child.checkIssued(parent) && child.verify(parent.publicKey);
    } catch {
      return false;
    }
  }

  /**
   * Does `chain` (leaf first, then the intermediates the client presented, in any order) lead to one of
   * `anchors`? Every certificate on the path must be valid now; an intermediate must be a CA. Nothing is
   * fetched: an intermediate the client did not present breaks the chain, as on OpenAI's host.
   */
  function chainsTo(chain: readonly X509Certificate[], anchors: readonly X509Certificate[]): boolean {
    const [leaf, ...rest] = chain;
    if (!leaf || !withinValidity(leaf)) return false;
    const pool = [...rest];
    let current = leaf;
    for (let depth = 0; depth <= 8; depth++) {
      if (anchors.some((a) => withinValidity(a) && issued(current, a))) return true;
      const i = pool.findIndex((x) => x.ca && withinValidity(x) && issued(current, x));
      const next = pool[i];
      if (!next) return false;
      pool.splice(i, 1);
      current = next;
    }
    return false;
  }

  /** The admin-key rule of the mTLS host: a chain to a CA in effect at organization level. */
  function chainsToActiveOrgCertificate(chain: readonly X509Certificate[]): boolean {
    return chainsTo(chain, anchorsIn('organization'));
  }

  /** The project-key rule of the mTLS host; throws OpenAI's mTLS refusal when the chain does not pass. */
  function enforceProjectMtls(chain: readonly X509Certificate[], project: string): void {
    const refuse = (status: number, code: MtlsRefusal, message: string): ApiError => new ApiError(status, message, code);
    const leaf = chain[0];
    if (!leaf) throw refuse(401, 'certificate_required', 'A client certificate is required for this request on the mTLS host.');
    if (!withinValidity(leaf) || leaf.ca) {
      throw refuse(
        401,
        'invalid_certificate',
        `The client certificate is not usable: ${leaf.ca ? 'it is a CA certificate, not a client certificate' : 'it is not valid at this time'}.`,
      );
    }
    const projectAnchors = anchorsIn(project);
    const anchors = projectAnchors.length > 0 ? projectAnchors : anchorsIn('organization');
    if (!chainsTo(chain, anchors)) {
      throw refuse(
        401,
        'certificate_verification_failed',
        `The client certificate does not chain to a CA certificate active for project '${project}' or its organization.`,
      );
    }
    const predicate = opts.clientCertificatePredicate;
    if (predicate && !predicate(leaf, project)) {
      throw refuse(
        403,
        'certificate_attribute_verification_failed',
        'The client certificate was rejected by the certificate filter of this project.',
      );
    }
  }

  // ---- validation helpers ----

  function requireCertificateId(id: string, param = 'certificate_id'): void {
    if (!CERT_ID_RE.test(id)) {
      throw new ApiError(400, `Invalid '${param}': '${id}'. Expected an ID that begins with 'cert_'.`, null, param);
    }
  }

  function requireProject(id: string): string {
    if (!PROJECT_ID_RE.test(id)) {
      throw new ApiError(400, `Invalid 'project_id': '${id}'. Expected an ID that begins with 'proj_'.`, null, 'project_id');
    }
    if (!projects.has(id)) throw notFoundProject(id);
    return id;
  }

  function single(ctx: Ctx, key: string): string | undefined {
    const v = ctx.query[key];
    if (Array.isArray(v)) throw new ApiError(400, `Query parameter '${key}' may only be given once.`, null, key);
    return v;
  }

  function limitOf(ctx: Ctx): number {
    const limitRaw = single(ctx, 'limit');
    if (limitRaw === undefined) return 20;
    if (!/^\d+$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > 100) {
      throw new ApiError(400, `Invalid 'limit': '${limitRaw}'. Expected an integer between 1 and 100.`, null, 'limit');
    }
    return Number(limitRaw);
  }

  function listPage(ctx: Ctx, project: string | null): unknown {
    const limit = limitOf(ctx);
    const orderRaw = single(ctx, 'order') ?? 'desc';
    if (orderRaw !== 'asc' && orderRaw !== 'desc') {
      throw new ApiError(400, `Invalid 'order': '${orderRaw}'. Expected 'asc' or 'desc'.`, null, 'order');
    }
    const after = single(ctx, 'after');
    const all = sorted(orderRaw);
    let start = 0;
    if (after !== undefined) {
      requireCertificateId(after, 'after');
      const i = all.findIndex((c) => c.id === after);
      if (i < 0) throw new ApiError(404, `No certificate found with id '${after}'.`, null, 'after');
      start = emulator.listing.repeatLastItem ? i : i + 1;
    }
    const page = all.slice(start, start + limit);
    return {
      object: 'list',
      data: page.map((c) => scopedObject(c, project)),
      first_id: page[0]?.id ?? null,
      last_id: page[page.length - 1]?.id ?? null,
      has_more: emulator.listing.alwaysHasMore === true || start + limit < all.length,
    };
  }

  /** GET /organization/projects: creation order, archived ones only on request. */
  function listProjects(ctx: Ctx): unknown {
    const limit = limitOf(ctx);
    const archivedRaw = single(ctx, 'include_archived') ?? 'false';
    if (archivedRaw !== 'true' && archivedRaw !== 'false') {
      throw new ApiError(400, `Invalid 'include_archived': '${archivedRaw}'. Expected 'true' or 'false'.`, null, 'include_archived');
    }
    const after = single(ctx, 'after');
    let start = 0;
    if (after !== undefined) {
      if (!PROJECT_ID_RE.test(after)) {
        throw new ApiError(400, `Invalid 'after': '${after}'. Expected an ID that begins with 'proj_'.`, null, 'after');
      }
      // The cursor is a position in the full list, so an archived id still works as a cursor.
      const i = projectList.findIndex((p) => p.id === after);
      if (i < 0) throw new ApiError(404, `No project found with id '${after}'.`, null, 'after');
      start = i + 1;
    }
    const rest = projectList.slice(start).filter((p) => archivedRaw === 'true' || p.archived_at === null);
    const page = rest.slice(0, limit);
    return {
      object: 'list',
      data: page.map(projectObject),
      first_id: page[0]?.id ?? null,
      last_id: page[page.length - 1]?.id ?? null,
      has_more: rest.length > limit,
    };
  }

  function toggle(ctx: Ctx, project: string | null, activate: boolean): unknown {
    const ids = ctx.body['certificate_ids'];
    if (ids === undefined) {
      throw new ApiError(400, "Missing required parameter: 'certificate_ids'.", null, 'certificate_ids');
    }
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) {
      throw new ApiError(400, "Invalid type for 'certificate_ids': expected an array of strings.", null, 'certificate_ids');
    }
    if (ids.length < 1 || ids.length > MAX_IDS_PER_TOGGLE) {
      throw new ApiError(
        400,
        `Invalid 'certificate_ids': expected between 1 and ${MAX_IDS_PER_TOGGLE} certificate ids, got ${ids.length}.`,
        null,
        'certificate_ids',
      );
    }
    const unique = [...new Set(ids as string[])];
    for (const id of unique) requireCertificateId(id, 'certificate_ids');
    const targets: StoredCertificate[] = [];
    for (const id of unique) {
      const c = findCertificate(id);
      if (!c) throw new ApiError(404, `No certificate found with id '${id}'.`, null, 'certificate_ids');
      targets.push(c);
    }
    if (activate) {
      const now = nowSeconds();
      for (const c of targets) {
        if (c.expires_at <= now) {
          throw new ApiError(400, `Certificate '${c.id}' has expired and cannot be activated.`, 'expired_certificate', 'certificate_ids');
        }
      }
    }
    // All checks passed: apply atomically. A new activation is enforced after `activationDelayMs`.
    const scope = project ?? 'organization';
    for (const c of targets) {
      const wasActive = project === null ? c.activeOrg : c.activeProjects.has(project);
      if (activate && !wasActive) effectiveFrom.set(effectKey(c.id, scope), Date.now() + emulator.activationDelayMs);
      if (!activate) effectiveFrom.delete(effectKey(c.id, scope));
      if (project === null) c.activeOrg = activate;
      else if (activate) c.activeProjects.add(project);
      else c.activeProjects.delete(project);
    }
    const prefix = project === null ? 'organization.certificate' : 'organization.project.certificate';
    return {
      object: `${prefix}.${activate ? 'activation' : 'deactivation'}`,
      data: targets.map((c) => scopedObject(c, project)),
    };
  }

  function optionalName(ctx: Ctx): string | undefined {
    const name = ctx.body['name'];
    if (name !== undefined && typeof name !== 'string') {
      throw new ApiError(400, "Invalid type for 'name': expected a string.", null, 'name');
    }
    return name;
  }

  // ---- routes ----

  const routes: Route[] = [
    {
      re: /^\/v1\/organization\/certificates$/,
      methods: {
        GET: { query: ['limit', 'after', 'order'], run: (ctx) => listPage(ctx, null) },
        POST: {
          query: [],
          body: ['certificate', 'name'],
          run: (ctx) => {
            const name = optionalName(ctx);
            if (ctx.body['certificate'] === undefined) {
              throw new ApiError(400, "Missing required parameter: 'certificate'.", 'mtls_certificate_invalid', 'certificate');
            }
            const parsed = inspectUpload(ctx.body['certificate']);
            // Checked and stored in one synchronous step: concurrent uploads can never exceed the cap.
            const cap = emulator.certificateLimit;
            const max = cap.max ?? MAX_CERTIFICATES;
            if (certificates.length >= max) {
              throw new ApiError(
                cap.status ?? 400,
                `This organization already has ${certificates.length} certificates; the limit is ${max}. Delete unused certificates first.`,
                cap.code ?? 'certificate_limit_exceeded',
                null,
                cap.type,
              );
            }
            const c: StoredCertificate = {
              id: newCertificateId(),
              name: name ?? null,
              created_at: nowSeconds(),
              pem: ctx.body['certificate'] as string,
              valid_at: parsed.valid_at,
              expires_at: parsed.expires_at,
              fingerprint: parsed.fingerprint,
              activeOrg: false,
              activeProjects: new Set(),
            };
            certificates.push(c);
            return certificateObject(c);
          },
        },
      },
    },
    {
      re: /^\/v1\/organization\/certificates\/(activate|deactivate)$/,
      methods: {
        POST: {
          query: [],
          body: ['certificate_ids'],
          run: (ctx) => toggle(ctx, null, ctx.params[0] === 'activate'),
        },
      },
    },
    {
      re: /^\/v1\/organization\/certificates\/([^/]+)$/,
      methods: {
        GET: {
          query: ['include[]'],
          run: (ctx) => {
            const id = ctx.params[0] as string;
            requireCertificateId(id);
            const inc = ctx.query['include[]'];
            const values = inc === undefined ? [] : Array.isArray(inc) ? inc : [inc];
            for (const v of values) {
              if (v !== 'content') {
                throw new ApiError(400, `Invalid value for 'include[]': '${v}'. Supported values are: 'content'.`, null, 'include');
              }
            }
            const c = findCertificate(id);
            if (!c) throw notFoundCertificate(id);
            return certificateObject(c, values.length > 0);
          },
        },
        POST: {
          query: [],
          body: ['name'],
          run: (ctx) => {
            const id = ctx.params[0] as string;
            requireCertificateId(id);
            const name = optionalName(ctx);
            const c = findCertificate(id);
            if (!c) throw notFoundCertificate(id);
            if (name !== undefined) c.name = name;
            return certificateObject(c);
          },
        },
        DELETE: {
          query: [],
          run: (ctx) => {
            const id = ctx.params[0] as string;
            requireCertificateId(id);
            const i = certificates.findIndex((c) => c.id === id);
            const c = certificates[i];
            if (!c) throw notFoundCertificate(id);
            if (c.activeOrg || c.activeProjects.size > 0) {
              throw new ApiError(
                400,
                'Certificate is still active for the organization or a project; deactivate it everywhere before deleting it.',
                'certificate_in_use',
                'certificate_id',
              );
            }
            certificates.splice(i, 1);
            return { object: 'certificate.deleted', id };
          },
        },
      },
    },
    {
      // Not an admin endpoint: the harmless read a canary proof sends through the mTLS host.
      re: /^\/v1\/models$/,
      methods: {
        GET: {
          query: [],
          run: () => ({
            object: 'list',
            data: MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })),
          }),
        },
      },
    },
    {
      re: /^\/v1\/organization\/projects$/,
      methods: {
        GET: { query: ['limit', 'after', 'include_archived'], run: listProjects },
      },
    },
    {
      re: /^\/v1\/organization\/projects\/([^/]+)\/certificates$/,
      methods: {
        GET: {
          query: ['limit', 'after', 'order'],
          run: (ctx) => listPage(ctx, requireProject(ctx.params[0] as string)),
        },
      },
    },
    {
      re: /^\/v1\/organization\/projects\/([^/]+)\/certificates\/(activate|deactivate)$/,
      methods: {
        POST: {
          query: [],
          body: ['certificate_ids'],
          run: (ctx) => toggle(ctx, requireProject(ctx.params[0] as string), ctx.params[1] === 'activate'),
        },
      },
    },
  ];

  // ---- request processing ----

  interface Incoming {
    req: IncomingMessage;
    method: string;
    path: string;
    query: Record<string, string | string[]>;
    raw: Buffer;
    tooLarge: boolean;
    json: unknown;
    jsonError: boolean;
    /** The client's certificates as presented: leaf first, then intermediates; empty when none. */
    chain: X509Certificate[];
  }

  function processRequest(inc: Incoming): Reply {
    try {
      return { status: 200, body: dispatch(inc) };
    } catch (e) {
      if (e instanceof ApiError) return { status: e.status, body: errorBody(e), headers: e.headers };
      const err = new ApiError(500, `Emulator internal error: ${e instanceof Error ? e.message : String(e)}`);
      return { status: 500, body: errorBody(err) };
    }
  }

  function dispatch(inc: Incoming): unknown {
    const { req, method, path } = inc;
    const auth = req.headers['authorization'];
    const m = typeof auth === 'string' ? /^Bearer (.+)$/i.exec(auth) : null;
    const given = m?.[1]?.trim();
    const keyProject = given !== undefined && given !== adminKey ? emulator.projectKeys[given] : undefined;

    if (keyProject !== undefined) {
      // 1-2. A project key: the mTLS host checks its client certificate against the project's CAs, and
      // the key reaches only non-admin endpoints.
      if (requireClientCert) enforceProjectMtls(inc.chain, keyProject);
      if (path.startsWith('/v1/organization/')) {
        throw new ApiError(403, 'Project API keys cannot call admin endpoints; use an admin API key.', null);
      }
    } else {
      // 1. Transport-level client certificate (mTLS host), for admin keys: a chain to an org-level CA.
      if (requireClientCert && !chainsToActiveOrgCertificate(inc.chain)) {
        throw new ApiError(
          401,
          'A client certificate that chains to a CA certificate active for this organization is required on this host.',
          'mtls_client_certificate_required',
        );
      }

      // 2. Bearer admin key.
      if (given !== adminKey) {
        throw new ApiError(
          401,
          `Incorrect API key provided: ${given ? maskKey(given) : '(none)'}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_api_key',
        );
      }
    }

    // 3. Organization-level mTLS enforcement on the plain host.
    if (enforceOrgMtls && certificates.some((c) => c.activeOrg)) {
      throw new ApiError(
        403,
        'A certificate is active for this organization, so requests must present a client certificate; a client certificate is required on the mTLS host (e.g. mtls.api.openai.com).',
        'mtls_required',
      );
    }

    // 4. Route and method.
    let route: Route | undefined;
    let match: RegExpExecArray | null = null;
    for (const r of routes) {
      match = r.re.exec(path);
      if (match) {
        route = r;
        break;
      }
    }
    if (!route || !match) throw new ApiError(404, `Invalid URL (${method} ${path})`);
    const op = route.methods[method];
    if (!op) {
      throw new ApiError(405, `Method not allowed (${method} ${path})`, null, null, undefined, {
        Allow: Object.keys(route.methods).join(', '),
      });
    }
    const params: string[] = [];
    for (const p of match.slice(1)) {
      try {
        params.push(decodeURIComponent(p ?? ''));
      } catch {
        throw new ApiError(400, `Malformed path segment '${p}'.`);
      }
    }

    // 5. Body.
    let body: Record<string, unknown> = {};
    if (inc.tooLarge) throw new ApiError(413, `Request body larger than ${MAX_BODY_BYTES} bytes.`);
    if (op.body === undefined) {
      if (inc.raw.length > 0) throw new ApiError(400, `${method} ${path} does not accept a request body.`);
    } else {
      if (!isJsonContentType(req.headers['content-type'])) {
        throw new ApiError(400, `Invalid Content-Type header (${req.headers['content-type'] ?? 'none'}); expected application/json.`);
      }
      if (inc.raw.length === 0 || inc.jsonError) {
        throw new ApiError(
          400,
          'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.',
        );
      }
      if (!isPlainObject(inc.json)) throw new ApiError(400, 'The request body must be a JSON object.');
      body = inc.json;
      for (const k of Object.keys(body)) {
        if (!op.body.includes(k)) throw new ApiError(400, `Unrecognized request argument supplied: ${k}`, null, k);
      }
    }

    // 6. Query.
    for (const k of Object.keys(inc.query)) {
      if (!op.query.includes(k)) throw new ApiError(400, `Unrecognized query parameter: ${k}`, null, k);
    }

    return op.run({ method, path, query: inc.query, body, params });
  }

  function send(res: ServerResponse, reply: Reply): void {
    sendRaw(res, reply.status, 'application/json', JSON.stringify(reply.body), reply.headers);
  }

  /** Every answer goes out here: with a `Date` header `clockOffsetMs` off the machine's clock. */
  function sendRaw(
    res: ServerResponse,
    status: number,
    contentType: string | null,
    payload: string,
    headers: Record<string, string> = {},
  ): void {
    if (closed || res.destroyed || res.writableEnded) return;
    res.writeHead(status, {
      ...(contentType === null ? {} : { 'content-type': contentType }),
      'content-length': String(Buffer.byteLength(payload)),
      'x-request-id': newRequestId(),
      date: new Date(Date.now() + emulator.clockOffsetMs).toUTCString(),
      ...headers,
    });
    res.end(payload);
  }

  /** Runs the request against the state, then puts the state back: the answer of a `pretend` fault. */
  function processWithoutApplying(inc: Incoming): Reply {
    const saved = certificates.map((c) => ({ c, activeOrg: c.activeOrg, activeProjects: new Set(c.activeProjects), name: c.name }));
    const savedEffective = new Map(effectiveFrom);
    const reply = processRequest(inc);
    certificates.splice(0, certificates.length, ...saved.map((x) => x.c));
    for (const x of saved) {
      x.c.activeOrg = x.activeOrg;
      x.c.activeProjects = x.activeProjects;
      x.c.name = x.name;
    }
    effectiveFrom = savedEffective;
    return reply;
  }

  function wrongShapeBody(shape: NonNullable<Fault['shape']>): { contentType: string; payload: string } {
    if (shape === 'html') return { contentType: 'text/html; charset=utf-8', payload: HTML_PAGE };
    if (shape === 'empty-object') return { contentType: 'application/json', payload: '{}' };
    return { contentType: 'application/json', payload: '{"object":"list","data":[]}' };
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  /**
   * The first matching rule that applies (see `Fault.probability`): of kind `hold` when `hold`, else of
   * any other kind. Uses up one of its `times`.
   */
  function takeFault(method: string, path: string, hold = false): Fault | undefined {
    const i = faults.findIndex(
      (f) =>
        (f.kind === 'hold') === hold && faultMatches(f, method, path) && (f.probability === undefined || faultRandom() < f.probability),
    );
    const f = faults[i];
    if (!f) return undefined;
    const left = (f.times ?? 1) - 1;
    if (left <= 0) faults.splice(i, 1);
    else f.times = left;
    return f;
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const query = parseQuery(url.searchParams);
    const { raw, tooLarge } = await readBody(req);
    let json: unknown = null;
    let jsonError = false;
    if (raw.length > 0 && !tooLarge) {
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        jsonError = true;
      }
    }
    const chain = presentedChain(req.socket as Partial<TLSSocket>);
    const record: RecordedRequest = { method, path, query, body: jsonError ? null : json, time: Date.now() };
    const [leaf, ...intermediates] = chain;
    if (leaf) record.clientCertSubject = leaf.subject;
    if (intermediates.length > 0) record.clientCertChainSubjects = intermediates.map((x) => x.subject);
    const dropQuery = emulator.listing.dropQuery === true && url.search !== '';
    if (dropQuery) record.queryDropped = true;
    requests.push(record);

    // Holds: the fixed latency, a seeded random one, then any `hold` rule.
    let held = emulator.latencyMs;
    if (latency) held += latency.minMs + Math.floor(nextRandom() * (Math.max(latency.maxMs - latency.minMs, 0) + 1));
    const hold = takeFault(method, path, true);
    if (hold) held += hold.delayMs ?? DEFAULT_LATE_DELAY_MS;
    if (latency || hold) record.heldMs = held;
    if (held > 0) await sleep(held);
    if (closed) return;

    const fault = takeFault(method, path);
    const inc: Incoming = { req, method, path, query: dropQuery ? {} : query, raw, tooLarge, json, jsonError, chain };
    if (!fault) {
      send(res, processRequest(inc));
      return;
    }
    switch (fault.kind) {
      case 'hang':
        return; // never answer; close() destroys the socket
      case 'drop-before':
        req.socket.destroy();
        return;
      case 'drop-after':
        processRequest(inc); // state changes happen, the answer is lost
        req.socket.destroy();
        return;
      case 'late': {
        // Held, not refused: the client may time out, close the socket and retry meanwhile, and the
        // commit still happens when the timer fires (a retry is a separate request, so two copies).
        pendingLate++;
        const commit = (): void => {
          if (!timers.delete(t) || closed) return; // once only: the barrier or the timer, whichever is first
          const reply = processRequest(inc); // `created_at` of an upload is taken now
          pendingLate--;
          send(res, reply); // no-op when the client has gone
          if (pendingLate === 0) wakeSettled();
        };
        const t = setTimeout(commit, fault.delayMs ?? DEFAULT_LATE_DELAY_MS);
        timers.add(t);
        if (fault.until) {
          const release = (): void => {
            clearTimeout(t);
            commit();
          };
          void fault.until.then(release, release);
        }
        return;
      }
      case 'thin': {
        const reply = processRequest(inc);
        const omit = fault.omit ?? (fault.replaceContent === undefined && fault.nullify === undefined ? ['content'] : []);
        if (reply.status === 200) thinOut(reply.body, omit, fault.replaceContent, fault.nullify); // errors stay whole
        send(res, reply);
        return;
      }
      case 'hold':
        return; // unreachable: `hold` rules are taken above, never here
      case 'wrong-shape': {
        if (fault.apply) processRequest(inc);
        const { contentType, payload } = wrongShapeBody(fault.shape ?? 'html');
        sendRaw(res, fault.status ?? 200, contentType, payload);
        return;
      }
      case 'pretend':
        send(res, processWithoutApplying(inc));
        return;
      case 'cut': {
        const reply = processRequest(inc);
        if (reply.status < 200 || reply.status >= 300) {
          send(res, reply);
          return;
        }
        const full = JSON.stringify(reply.body);
        const payload = fault.cut === 'empty' ? '' : full.slice(0, Math.floor(full.length / 2));
        sendRaw(res, reply.status, 'application/json', payload, reply.headers);
        return;
      }
      case 'redirect': {
        const location = fault.location ?? `${origin}/moved${url.pathname}${url.search}`;
        sendRaw(res, fault.status ?? 307, null, '', { location });
        return;
      }
      case 'status': {
        const status = fault.status ?? 500;
        const headers = { ...(fault.headers ?? {}) };
        if (fault.shouldRetry !== undefined) headers['x-should-retry'] = String(fault.shouldRetry);
        const err = new ApiError(
          status,
          fault.message ?? `Emulated fault: HTTP ${status}.`,
          fault.code ?? (status === 429 ? 'rate_limit_exceeded' : null),
          null,
          fault.type,
          headers,
        );
        send(res, { status, body: errorBody(err), headers: err.headers });
        return;
      }
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    onRequest(req, res).catch((e: unknown) => {
      const err = new ApiError(500, `Emulator internal error: ${e instanceof Error ? e.message : String(e)}`);
      try {
        send(res, { status: 500, body: errorBody(err) });
      } catch {
        req.socket.destroy();
      }
    });
  };

  const server: Server = opts.tls
    ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert, requestCert: requireClientCert, rejectUnauthorized: false }, listener)
    : createHttpServer(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err: Error, s: Socket) => s.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  function addCertificate(pem: string, o: AddCertificateOptions = {}): StoredCertificate {
    let parsed: ParsedCertificate | null;
    if (o.skipValidation) {
      parsed = parseCertificate(pem);
    } else {
      try {
        parsed = inspectUpload(pem);
      } catch (e) {
        throw new Error(`addCertificate: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
    const c: StoredCertificate = {
      id: newCertificateId(),
      name: o.name ?? null,
      created_at: o.createdAt ?? nowSeconds() - 60,
      pem,
      valid_at: parsed?.valid_at ?? 0,
      expires_at: parsed?.expires_at ?? 0,
      fingerprint: parsed?.fingerprint ?? '',
      activeOrg: o.activeOrg ?? false,
      activeProjects: new Set(o.activeProjects ?? []),
    };
    if (o.nullDates) c.nullDates = [...o.nullDates];
    certificates.push(c);
    return c;
  }

  const emulator: Emulator = {
    baseURL: `${origin}/v1`,
    origin,
    requests,
    certificates,
    faults,
    latencyMs: opts.latencyMs ?? 0,
    clockOffsetMs: opts.clockOffsetMs ?? 0,
    get latency(): LatencyOptions | undefined {
      return latency;
    },
    set latency(value: LatencyOptions | undefined) {
      latency = value ? { ...value } : undefined;
      nextRandom = seededRandom(latency?.seed ?? 1);
    },
    listing: { ...(opts.listing ?? {}) },
    certificateLimit: { ...(opts.certificateLimit ?? {}) },
    projectKeys: { ...(opts.projectKeys ?? {}) },
    activationDelayMs: opts.activationDelayMs ?? 0,
    addCertificate,
    addFault(f: Fault): void {
      faults.push({ ...f });
    },
    activeIn(scope: string): string[] {
      return certificates.filter((c) => (scope === 'organization' ? c.activeOrg : c.activeProjects.has(scope))).map((c) => c.id);
    },
    enforcedIn(scope: string): string[] {
      return certificates.filter((c) => inEffect(c, scope)).map((c) => c.id);
    },
    settled(): Promise<void> {
      if (pendingLate === 0) return Promise.resolve();
      return new Promise((resolve) => settledWaiters.push(resolve));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t); // includes pending late commits: they never apply
      timers.clear();
      pendingLate = 0;
      wakeSettled();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;
}
