import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import type { CertificateApi, StoredCertificate } from '../api/certificates.js';
import { explainApiError, type CallContext } from '../api/errors.js';

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  sleep: (ms: number) => Promise<void>;
  /** 0 ≤ random() < 1, for jitter. */
  random: () => number;
  /** Progress lines for the log. */
  log: (line: string) => void;
  /** The clock, in milliseconds, for a Retry-After given as an HTTP date. Default Date.now. */
  now?: () => number;
}

export interface UploadResult {
  certificate: StoredCertificate;
  attempts: number;
}

export const BASE_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30_000;
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Uploads once, retrying on its own terms: the SDK does not retry this call (it sends no idempotency
 * key, so a retry after a lost answer stores a duplicate). After an ambiguous failure (timeout,
 * dropped connection, 5xx) the organization is searched for the certificate first, and an upload
 * that did go through is taken as the result.
 */
export async function uploadWithoutDuplicates(
  api: CertificateApi,
  certificate: CertificateInfo,
  name: string | undefined,
  findStored: () => Promise<StoredCertificate | undefined>,
  options: RetryOptions,
): Promise<UploadResult> {
  const context: CallContext = { action: 'upload the certificate', host: api.host, timeoutMs: api.client.timeout };
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      return { certificate: await api.create(certificate.pem, name, { maxRetries: 0 }), attempts: attempt + 1 };
    } catch (error) {
      // The SDK's own error: what it says decides whether to retry.
      failure = error instanceof ActionError ? error.cause : error;
    }
    const kind = classify(failure);
    if (kind === 'final') throw explainApiError(failure, context);

    if (kind === 'ambiguous') {
      options.log(`${whatHappened(failure)}; checking whether the certificate was stored anyway.`);
      let stored: StoredCertificate | undefined;
      try {
        stored = await findStored();
      } catch (error) {
        throw unverifiable(failure, error, context);
      }
      if (stored) {
        options.log(`It was: ${stored.id} holds this certificate, so it is not uploaded again.`);
        return { certificate: stored, attempts: attempt + 1 };
      }
      options.log('It was not: the organization holds no certificate with this fingerprint.');
    }
    if (attempt >= options.maxRetries) {
      const error = explainApiError(failure, context);
      const attempts = `The action tried ${attempt + 1} time${attempt === 0 ? '' : 's'}${kind === 'ambiguous' ? '; the organization was checked afterwards and does not hold the certificate' : ''}.`;
      throw new ActionError(`${error.message} ${attempts}`, { title: error.title, hint: error.hint, cause: failure });
    }

    const delay = retryDelay(failure, attempt, options.random, options.now);
    options.log(
      `Upload attempt ${attempt + 1} failed (${describe(failure)}); retrying in ${(delay / 1000).toFixed(1)} s (${options.maxRetries - attempt} retries left).`,
    );
    await options.sleep(delay);
  }
}

/** The upload's answer was lost and the check that would tell whether it was stored failed too. */
function unverifiable(uploadFailure: unknown, checkFailure: unknown, context: CallContext): ActionError {
  const check = explainApiError(checkFailure, { ...context, action: 'check whether the certificate was stored' });
  return new ActionError(
    `${whatHappened(uploadFailure)}, and ${lowerFirst(check.message)} So it is not known whether the certificate was stored; it was not uploaded again, to avoid a duplicate.`,
    {
      title: 'api',
      hint: `${check.hint ? `${check.hint} ` : ''}Then run the action again: with reuse-existing: true (the default) it finds the certificate if it was stored, and uploads it otherwise.`,
      cause: checkFailure,
    },
  );
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** `final`: retrying cannot help; `refused`: nothing was stored, retry; `ambiguous`: it may have been stored. */
export function classify(error: unknown): 'final' | 'refused' | 'ambiguous' {
  if (error instanceof APIConnectionError) return 'ambiguous';
  if (!(error instanceof APIError) || error.status === undefined) return 'final';
  if (error.status === 429) return 'refused';
  if (error.status === 408 || error.status === 409 || error.status >= 500) return 'ambiguous';
  return 'final';
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
  const headers = error instanceof APIError ? error.headers : undefined;
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

/** An ambiguous failure of the upload, in words. */
function whatHappened(error: unknown): string {
  if (error instanceof APIError && error.status !== undefined)
    return `The upload failed with HTTP ${error.status}, which does not tell whether it was stored`;
  return `The upload's answer was lost (${describe(error)})`;
}

function describe(error: unknown): string {
  if (error instanceof APIError && error.status !== undefined) return `HTTP ${error.status}`;
  if (error instanceof APIConnectionTimeoutError) return 'timed out';
  if (error instanceof APIConnectionError) return 'connection failed';
  return 'error';
}
