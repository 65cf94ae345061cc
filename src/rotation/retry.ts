/**
 * When a write is tried again, and what its failure says about the organization. The SDK retries reads
 * and idempotent calls itself; uploads, deletions and deactivations run with the SDK's retries off and
 * go through `withRetries`, which can look at the organization between attempts.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { apiFailure, connectionCode } from '../api/errors.js';
import { ActionError } from '../errors.js';

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  sleep: (ms: number) => Promise<void>;
  /** 0 ≤ random() < 1, for jitter. */
  random: () => number;
  /** Progress lines for the log. */
  log: (line: string) => void;
  /** The clock, in milliseconds, for a Retry-After given as an HTTP date. */
  now: () => number;
}

export const BASE_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30_000;
export const MAX_RETRY_AFTER_MS = 60_000;

/** What one failed attempt tells. */
export interface Failure {
  /** The SDK's error (an ActionError from api/ carries it as its cause). */
  error: unknown;
  /** The request may have taken effect: its answer was lost (timeout, dropped connection) or the status does not say (408, 409, 5xx). */
  maybeApplied: boolean;
  /** Trying again can help: what the SDK itself would retry, `x-should-retry` first. */
  retryable: boolean;
}

/** Connection failures that happen before a request is sent: nothing can have been applied. */
const NOT_SENT =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPROTO|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|ERR_OSSL_)/;

export function describeFailure(thrown: unknown): Failure {
  const error = thrown instanceof ActionError && thrown.cause !== undefined ? thrown.cause : thrown;
  if (error instanceof APIConnectionTimeoutError) return { error, maybeApplied: true, retryable: true };
  if (error instanceof APIConnectionError) return { error, maybeApplied: !NOT_SENT.test(connectionCode(error)), retryable: true };
  const api = apiFailure(error);
  if (api?.status === undefined) return { error, maybeApplied: false, retryable: false };
  const status = api.status;
  const maybeApplied = status === 408 || status === 409 || status >= 500;
  // The SDK obeys the server's x-should-retry before its own rules; so does the action.
  const hint = api.headers?.get('x-should-retry');
  const retryable = hint === 'true' ? true : hint === 'false' ? false : maybeApplied || status === 429;
  return { error, maybeApplied, retryable };
}

/**
 * Exponential backoff with jitter (between half and all of 1 s, 2 s, 4 s, ... up to 30 s), or the
 * server's `retry-after-ms` / `Retry-After` (seconds or an HTTP date) when it gives one, capped at 60 s.
 */
export function retryDelay(error: unknown, attempt: number, random: () => number, now: () => number = Date.now): number {
  const retryAfter = retryAfterMs(error, now);
  if (retryAfter !== undefined) return Math.min(retryAfter, MAX_RETRY_AFTER_MS);
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function retryAfterMs(error: unknown, now: () => number = Date.now): number | undefined {
  const headers = apiFailure(error)?.headers;
  if (!headers) return undefined;
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

/** A failure in words for the log: `HTTP 500`, `timed out`, `connection failed`. */
export function describe(error: unknown): string {
  if (error instanceof APIError && error.status !== undefined) return `HTTP ${error.status}`;
  if (error instanceof APIConnectionTimeoutError) return 'timed out';
  if (error instanceof APIConnectionError) return 'connection failed';
  return 'error';
}

export interface Write<T> {
  /** What is being done, for the log: "upload the certificate", "delete cert_abc". */
  what: string;
  /** One attempt, with the SDK's own retries off. */
  attempt: () => Promise<T>;
  /**
   * After a failure that may have been applied, and after the back-off (so that a late commit has had
   * time to land): whether the write took effect after all. A value ends the retries with it.
   */
  check?: () => Promise<T | undefined>;
  /**
   * A failure that is no failure: called with each final failure and whether an earlier attempt may
   * have been applied (a DELETE whose answer was lost and whose retry finds nothing to delete). A
   * value ends the retries with it.
   */
  settle?: (failure: Failure, afterMaybeApplied: boolean) => T | undefined;
  /** The message when retries end after an attempt that may have been applied and was not confirmed. */
  unconfirmed: string;
}

export interface Written<T> {
  value: T;
  attempts: number;
  /** An attempt failed in a way that may have applied it. */
  maybeApplied: boolean;
  /** The value came from `check` or `settle`, not from an answer. */
  recovered: boolean;
}

/**
 * Tries a write at most `maxRetries + 1` times. After a failure that may have been applied, it waits the
 * back-off first (so that a late commit has time to land), then checks, then retries; after one that
 * was refused (429, nothing sent) it waits and retries; anything else is final. When the attempts end
 * after a failure that may have been applied and was not confirmed, the error says that it is not known
 * whether the write took effect, never more.
 */
export async function withRetries<T>(write: Write<T>, options: RetryOptions): Promise<Written<T>> {
  let maybeApplied = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return { value: await write.attempt(), attempts: attempt + 1, maybeApplied, recovered: false };
    } catch (error) {
      if (!(error instanceof ActionError)) throw error;
      const failure = describeFailure(error);
      const settled = write.settle?.(failure, maybeApplied);
      if (settled !== undefined) return { value: settled, attempts: attempt + 1, maybeApplied, recovered: true };
      maybeApplied ||= failure.maybeApplied;
      const left = options.maxRetries - attempt;
      const retry = failure.retryable && left > 0;
      const next = retry ? `${left} ${left === 1 ? 'retry' : 'retries'} left` : 'no retry left';
      const failed = `Attempt ${attempt + 1} to ${write.what} failed (${describe(failure.error)})`;
      if (failure.maybeApplied && write.check) {
        const delay = retryDelay(failure.error, attempt, options.random, options.now);
        options.log(`${failed}, which does not tell whether it took effect; checking in ${seconds(delay)} (${next}).`);
        await options.sleep(delay);
        const found = await write.check();
        if (found !== undefined) return { value: found, attempts: attempt + 1, maybeApplied, recovered: true };
      } else if (retry) {
        const delay = retryDelay(failure.error, attempt, options.random, options.now);
        options.log(`${failed}; trying again in ${seconds(delay)} (${next}).`);
        await options.sleep(delay);
      }
      if (retry) continue;
      if (attempt === 0 && !maybeApplied) throw error;
      const tried = `The action tried ${attempt + 1} time${attempt === 0 ? '' : 's'}.`;
      const message = maybeApplied ? `${error.message} ${tried} ${write.unconfirmed}` : `${error.message} ${tried}`;
      throw new ActionError(message, { title: error.title, hint: error.hint, cause: error.cause });
    }
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
