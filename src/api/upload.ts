import { APIConnectionError, APIError } from 'openai';
import type { CertificateInfo } from '../certificate/inspect.js';
import { fromStored, type CertificateApi, type StoredCertificate } from './certificates.js';
import { explainApiError } from './errors.js';

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  sleep: (ms: number) => Promise<void>;
  /** 0 ≤ random() < 1, for jitter. */
  random: () => number;
  /** Progress lines for the log. */
  log: (line: string) => void;
}

export interface UploadResult {
  certificate: StoredCertificate;
  /** True when this run stored it; false when an earlier, lost answer had stored it already. */
  uploaded: boolean;
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
  const context = { action: 'upload the certificate', host: api.host };
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      const created = await api.client.admin.organization.certificates.create(
        { certificate: certificate.pem, ...(name ? { name } : {}) },
        { maxRetries: 0 },
      );
      return { certificate: fromStored(created), uploaded: true, attempts: attempt + 1 };
    } catch (error) {
      failure = error;
    }
    const kind = classify(failure);
    if (kind === 'final') throw explainApiError(failure, context);

    if (kind === 'ambiguous') {
      options.log(`The upload's answer was lost (${describe(failure)}); checking whether the certificate was stored anyway.`);
      const stored = await findStored();
      if (stored) {
        options.log(`It was: ${stored.id} holds this certificate, so it is not uploaded again.`);
        return { certificate: stored, uploaded: true, attempts: attempt + 1 };
      }
    }
    if (attempt >= options.maxRetries) throw explainApiError(failure, context);

    const delay = retryDelay(failure, attempt, options.random);
    options.log(`Upload attempt ${attempt + 1} failed (${describe(failure)}); retrying in ${(delay / 1000).toFixed(1)} s (${options.maxRetries - attempt} retries left).`);
    await options.sleep(delay);
  }
}

/** `final`: retrying cannot help; `refused`: nothing was stored, retry; `ambiguous`: it may have been stored. */
export function classify(error: unknown): 'final' | 'refused' | 'ambiguous' {
  if (error instanceof APIConnectionError) return 'ambiguous';
  if (!(error instanceof APIError) || error.status === undefined) return 'final';
  if (error.status === 429) return 'refused';
  if (error.status === 408 || error.status === 409 || error.status >= 500) return 'ambiguous';
  return 'final';
}

/** Exponential backoff with jitter, or the server's Retry-After when it gives one (capped at 60 s). */
export function retryDelay(error: unknown, attempt: number, random: () => number): number {
  const retryAfter = retryAfterMs(error);
  if (retryAfter !== undefined) return Math.min(retryAfter, MAX_RETRY_AFTER_MS);
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function retryAfterMs(error: unknown): number | undefined {
  const headers = error instanceof APIError ? error.headers : undefined;
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const secondsValue = Number(value);
  if (Number.isFinite(secondsValue) && secondsValue >= 0) return secondsValue * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describe(error: unknown): string {
  if (error instanceof APIError && error.status !== undefined) return `HTTP ${error.status}`;
  if (error instanceof APIConnectionError) return error.constructor.name === 'APIConnectionTimeoutError' ? 'timed out' : 'connection failed';
  return 'error';
}
