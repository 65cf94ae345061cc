import type { ReadableStreamDefaultReader } from 'node:stream/web';
import type OpenAI from 'openai';
import type { APIPromise } from 'openai/core/api-promise';
import type { Certificate, CertificateListResponse } from 'openai/resources/admin/organization/certificates';
import type { Project } from 'openai/resources/admin/organization/projects/projects';
import { mapLimit } from '../concurrency.js';
import { MAX_ANSWER_BYTES, MAX_LISTED_CERTIFICATES, MAX_LISTED_PROJECTS, MAX_PAGES, PAGE_SIZE } from '../limits.js';
import type { ClockPair } from '../time.js';
import { scopeLabel } from '../wording.js';
import { ApiError, fromSdkError, hostOf, unreadableAnswer, type CallContext } from './errors.js';

/** `organization` or a project id. */
export type Scope = string;
export const ORGANIZATION: Scope = 'organization';

/**
 * A certificate as the API describes it. Dates are unix seconds, or null when the API does not give them
 * (a missing or `null` `valid_at`/`expires_at` is unknown, never 1970).
 */
export interface CertificateRecord {
  id: string;
  name: string | null;
  createdAt: number;
  validAt: number | null;
  expiresAt: number | null;
}

/** A certificate as a list shows it, in one scope (the organization, or a project with its project-level `active`). */
export interface ListedCertificate extends CertificateRecord {
  active: boolean;
}

/** A certificate as upload or retrieve returns it, with its PEM content when the API gives it. */
export interface StoredCertificate extends CertificateRecord {
  content: string | undefined;
}

/** Per-call SDK options: `maxRetries: 0` for a call whose retries the rotation logic runs itself. */
export interface CallOptions {
  maxRetries?: number;
}

/** A JSON answer, read whole (bounded in size and time) and parsed; never taken on its status alone. */
interface Answer {
  status: number;
  json: unknown;
}

/**
 * What the actions read, through the official SDK, and nothing more: every failure comes out as an ApiError
 * that names the call. Every answer is checked against the shape the action needs. The status action uses
 * only this class, so its bundle holds no code that writes; CertificateApi (certificates.ts) adds the writes.
 */
export class CertificateReader {
  readonly client: OpenAI;
  readonly host: string;
  /** The newest `Date` header seen, with the runner's clock at that moment. */
  clock: ClockPair | undefined;
  private readonly localNow: () => number;

  /** `proxy`: the proxy in use, named in connection errors. */
  constructor(client: OpenAI, baseURL: string, proxy?: string, localNow: () => number = Date.now) {
    this.client = client;
    this.host = proxy ? `${hostOf(baseURL)} through the proxy ${proxy}` : hostOf(baseURL);
    this.localNow = localNow;
  }

  /** The ids of the organization's projects that are not archived, every page (bounded). */
  async listProjects(): Promise<string[]> {
    const context = this.context({
      action: 'list the projects of the organization',
      permission: 'read access to projects (the Projects permission)',
    });
    const ids = new Map<string, boolean>();
    await this.paginate(
      context,
      MAX_LISTED_PROJECTS,
      (after) => this.client.admin.organization.projects.list({ limit: PAGE_SIZE, ...after }),
      (item) => {
        const project = item as Partial<Project> | null;
        if (typeof project?.id !== 'string' || !project.id) return undefined;
        return { id: project.id, value: project.status !== 'archived' && !project.archived_at };
      },
      ids,
    );
    return [...ids].filter(([, live]) => live).map(([id]) => id);
  }

  /** Every certificate of the organization, or of a project with its project-level `active`; all pages, bounded. */
  async listScope(scope: Scope): Promise<ListedCertificate[]> {
    const isOrg = scope === ORGANIZATION;
    const context = this.context({ action: `list the certificates of ${scopeLabel(scope)}`, ...(isOrg ? {} : { projectId: scope }) });
    const found = new Map<string, ListedCertificate>();
    await this.paginate(
      context,
      MAX_LISTED_CERTIFICATES,
      (after) => {
        const query = { limit: PAGE_SIZE, order: 'asc' as const, ...after };
        return isOrg
          ? this.client.admin.organization.certificates.list(query)
          : this.client.admin.organization.projects.certificates.list(scope, query);
      },
      (item) => {
        const listed = parseListed(item);
        return listed ? { id: listed.id, value: listed } : undefined;
      },
      found,
    );
    return [...found.values()];
  }

  /**
   * The certificate lists of several projects, at most `concurrency` at once. Projects that do not exist are
   * all named together in one error (a 404 for one does not hide the others).
   */
  async listProjectScopes(ids: readonly string[], concurrency: number): Promise<Array<[Scope, ListedCertificate[]]>> {
    const missing: ApiError[] = [];
    const lists = await mapLimit(ids, concurrency, async (id): Promise<[Scope, ListedCertificate[]]> => {
      try {
        return [id, await this.listScope(id)];
      } catch (error) {
        if (!(error instanceof ApiError) || error.kind !== 'not-found' || error.facts.missing !== 'project') throw error;
        missing.push(error);
        return [id, []];
      }
    });
    const [first] = missing;
    if (first && missing.length > 1) {
      const named = ids.filter((id) => missing.some((e) => e.message.includes(`project ${id} `)));
      throw first.restate(`${missing.length} projects were not found (404): ${named.join(', ')}. Nothing was written.`, undefined);
    }
    if (first) throw first;
    return lists;
  }

  /** One certificate with its content. */
  async retrieve(id: string): Promise<StoredCertificate> {
    const context = this.context({ action: `read certificate ${id}`, certificateId: id });
    const answer = await this.answer(
      context,
      () => this.client.admin.organization.certificates.retrieve(id, { include: ['content'] }),
      false,
    );
    const stored = parseStored(answer.json);
    if (!stored || stored.id !== id)
      throw unreadableAnswer(context, answer.status, `its answer is not certificate ${id} (no such "id" in it)`, false);
    return stored;
  }

  protected context(call: Omit<CallContext, 'host'>): CallContext {
    return { host: this.host, timeoutMs: this.client.timeout, ...call };
  }

  /**
   * Sends one call and reads its answer whole: the SDK's error for a refusal, an `unreadable` ApiError for a
   * 2xx that is empty, cut, or not JSON (an HTML page from a proxy). `maybeApplied`: the call writes, so an
   * answer that cannot be read does not tell whether it took effect.
   */
  protected async answer(context: CallContext, send: () => APIPromise<unknown>, maybeApplied: boolean): Promise<Answer> {
    let response: Response;
    try {
      response = await send().asResponse();
    } catch (error) {
      throw fromSdkError(error, context, this.localNow);
    }
    this.observeClock(response.headers.get('date'));
    let text: string;
    try {
      text = await readBody(response, context.timeoutMs ?? 60_000);
    } catch (error) {
      throw unreadableAnswer(context, response.status, `its answer was cut off (${(error as Error).message})`, maybeApplied);
    }
    if (!text.trim()) throw unreadableAnswer(context, response.status, 'its answer was empty', maybeApplied);
    try {
      return { status: response.status, json: JSON.parse(text) as unknown };
    } catch {
      const html = /html/i.test(response.headers.get('content-type') ?? '') || /^\s*</.test(text);
      throw unreadableAnswer(
        context,
        response.status,
        html ? 'its answer is an HTML page, not JSON' : 'its answer is not whole JSON (cut off?)',
        maybeApplied,
      );
    }
  }

  /**
   * Reads every page of a list, bounded by construction: it stops with an error when a cursor repeats, when a
   * page brings no new item, when more than `maxItems` distinct items or MAX_PAGES pages arrive. Ids are
   * de-duplicated (a gateway that repeats a page's last item on the next page counts it once).
   */
  private async paginate<T>(
    context: CallContext,
    maxItems: number,
    send: (after: { after?: string }) => APIPromise<unknown>,
    parse: (item: unknown) => { id: string; value: T } | undefined,
    into: Map<string, T>,
  ): Promise<void> {
    const cursors = new Set<string>();
    let after: string | undefined;
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES) throw endless(context, `more than ${MAX_PAGES} pages`);
      const answer = await this.answer(context, () => send(after === undefined ? {} : { after }), false);
      const list = answer.json as { data?: unknown; has_more?: unknown; last_id?: unknown } | null;
      if (typeof list !== 'object' || list === null || !Array.isArray(list.data) || typeof list.has_more !== 'boolean')
        throw unreadableAnswer(context, answer.status, 'its answer is not a list (no "data" array and "has_more")', false);
      let fresh = 0;
      let last: string | undefined;
      for (const raw of list.data) {
        const item = parse(raw);
        if (!item) throw unreadableAnswer(context, answer.status, 'an item of the list lacks its id or fields', false);
        last = item.id;
        if (!into.has(item.id)) fresh++;
        into.set(item.id, item.value);
      }
      if (into.size > maxItems) throw endless(context, `more than ${maxItems} distinct items, more than the scope can hold`);
      if (!list.has_more) return;
      const next = typeof list.last_id === 'string' && list.last_id ? list.last_id : last;
      if (next === undefined || fresh === 0 || cursors.has(next))
        throw endless(
          context,
          next === undefined ? 'a page that says more follow but holds nothing' : `the same page again (cursor ${next})`,
        );
      cursors.add(next);
      after = next;
    }
  }

  private observeClock(date: string | null): void {
    const api = date ? Date.parse(date) : Number.NaN;
    if (!Number.isNaN(api)) this.clock = { api, local: this.localNow() };
  }
}

function endless(context: CallContext, what: string): ApiError {
  const { facts } = unreadableAnswer(context, 200, `the pages never end: the API sent ${what}`, false);
  return new ApiError(
    `Could not ${context.action}: the pages never end (the API sent ${what}). A gateway that drops the query string, or repeats pages, answers like this; the action stopped reading rather than loop.`,
    { ...facts, endless: true },
  );
}

/** Reads a body whole, at most MAX_ANSWER_BYTES, within `timeoutMs` (the SDK's timeout ends with the headers). */
async function readBody(response: Response, timeoutMs: number): Promise<string> {
  const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array> | undefined;
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void reader.cancel().catch(() => undefined);
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_ANSWER_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw new Error(`over ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) throw new Error('it did not end within timeout-seconds');
  return Buffer.concat(chunks).toString('utf8');
}

/** A unix time the API gave, or null when it gave none (or not a number): unknown, never 0. */
function unixTime(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

function parseRecord(item: unknown): CertificateRecord | undefined {
  const c = item as Partial<Certificate> | null;
  if (typeof c !== 'object' || c === null || typeof c.id !== 'string' || !/^cert_/.test(c.id)) return undefined;
  if (typeof c.created_at !== 'number' || !Number.isFinite(c.created_at)) return undefined;
  const details = (typeof c.certificate_details === 'object' && c.certificate_details) || {};
  return {
    id: c.id,
    name: typeof c.name === 'string' ? c.name : null,
    createdAt: c.created_at,
    validAt: unixTime(details.valid_at),
    expiresAt: unixTime(details.expires_at),
  };
}

/** A listed certificate; undefined when the item is not one (no id, no `created_at`, no boolean `active`). */
export function parseListed(item: unknown): ListedCertificate | undefined {
  const record = parseRecord(item);
  const active = (item as Partial<CertificateListResponse> | null)?.active;
  return record && typeof active === 'boolean' ? { ...record, active } : undefined;
}

/** An uploaded or retrieved certificate; undefined when the answer is not one. */
export function parseStored(item: unknown): StoredCertificate | undefined {
  const record = parseRecord(item);
  if (!record) return undefined;
  const content = (item as Certificate).certificate_details?.content;
  return { ...record, content: typeof content === 'string' ? content : undefined };
}
