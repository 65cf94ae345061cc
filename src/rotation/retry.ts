/**
 * When a write is tried again, and what its failure says about the organization. The SDK retries reads
 * itself; uploads, deletions and (de)activations run with the SDK's retries off and go through
 * `withRetries`, which can look at the organization between attempts. Every loop is bounded by max-retries.
 */
import { ApiError, describeFailure } from '../api/errors.js';
import type { Logger } from '../log.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  sleep: (ms: number) => Promise<void>;
  /** 0 ≤ random() < 1, for jitter. */
  random: () => number;
}

export const BASE_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30_000;
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Exponential backoff with jitter (between half and all of 1 s, 2 s, 4 s, ... up to 30 s), or the server's
 * `retry-after-ms` / `Retry-After` when it gave one, capped at 60 s.
 */
export function retryDelay(error: ApiError, attempt: number, random: () => number): number {
  const retryAfter = error.facts.retryAfterMs;
  if (retryAfter !== undefined) return Math.min(retryAfter, MAX_RETRY_AFTER_MS);
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
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
   * A failure that is no failure: called with each failure and whether an earlier attempt may have been
   * applied (a DELETE whose answer was lost and whose retry finds nothing to delete). A value ends the
   * retries with it.
   */
  settle?: (failure: ApiError, afterMaybeApplied: boolean) => T | undefined;
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
 * back-off first (so that a late commit has time to land), then checks, then retries; after one that was
 * refused (429, nothing sent) it waits and retries; anything else is final. When the attempts end after a
 * failure that may have been applied and was not confirmed, the error says that it is not known whether the
 * write took effect, never more.
 */
export async function withRetries<T>(write: Write<T>, context: { retry: RetryPolicy; log: Logger }): Promise<Written<T>> {
  const { retry, log } = context;
  let maybeApplied = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return { value: await write.attempt(), attempts: attempt + 1, maybeApplied, recovered: false };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const settled = write.settle?.(error, maybeApplied);
      if (settled !== undefined) return { value: settled, attempts: attempt + 1, maybeApplied, recovered: true };
      maybeApplied ||= error.facts.maybeApplied;
      const left = retry.maxRetries - attempt;
      const again = error.facts.retryable && left > 0;
      const next = again ? `${left} ${left === 1 ? 'retry' : 'retries'} left` : 'no retry left';
      const failed = `Attempt ${attempt + 1} to ${write.what} failed (${describeFailure(error)})`;
      if (error.facts.maybeApplied && write.check) {
        const delay = retryDelay(error, attempt, retry.random);
        log.info(`${failed}, which does not tell whether it took effect; checking in ${(delay / 1000).toFixed(1)} s (${next}).`);
        await retry.sleep(delay);
        const found = await write.check();
        if (found !== undefined) return { value: found, attempts: attempt + 1, maybeApplied, recovered: true };
      } else if (again) {
        const delay = retryDelay(error, attempt, retry.random);
        log.info(`${failed}; trying again in ${(delay / 1000).toFixed(1)} s (${next}).`);
        await retry.sleep(delay);
      }
      if (again) continue;
      if (attempt === 0 && !maybeApplied) throw error;
      const tried = attempt === 0 ? 'It was tried once.' : `It was tried ${attempt + 1} times.`;
      throw error.restate(maybeApplied ? `${error.message} ${tried} ${write.unconfirmed}` : `${error.message} ${tried}`, error.hint);
    }
  }
}
