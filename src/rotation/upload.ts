/**
 * The upload, exactly once in the real world. The SDK would retry it blindly (it sends no idempotency
 * key), so the action retries it itself, looking at the organization after any failure that may have
 * stored it. Runs racing each other (a matrix, a re-run) and a run whose earlier attempt committed late
 * all end on one copy: after any upload the organization is listed again, and among the identical
 * copies that were not there when the run planned, the oldest is the one every run keeps.
 */
import { type CertificateApi } from '../api/certificates.js';
import { ORGANIZATION, type ListedCertificate, type StoredCertificate } from '../api/reader.js';
import { explainApiError } from '../api/errors.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import { isoSeconds } from '../time.js';
import { compare, mayBeIdentical } from './identical.js';
import { withRetries, type RetryOptions } from './retry.js';
import { deleteCertificate } from './writes.js';

export interface UploadOptions {
  retry: RetryOptions;
  log: (line: string) => void;
  warning: (line: string) => void;
}

export interface Upload {
  /** The copy the run goes on with: its own, or an older identical copy another run (or attempt) stored. */
  certificate: StoredCertificate;
  /**
   * This run stored the copy that is kept: its id came back to this run, or the copy appeared after one
   * of this run's attempts lost its answer (most likely that attempt's late commit).
   */
  uploaded: boolean;
  attempts: number;
  /** This run's own copy, deleted because an older identical one is kept. */
  removed: string[];
  /** This run's own copy that should have been deleted and could not be (a warning says so). */
  leftOver: string[];
}

/**
 * Uploads the certificate and converges on one copy. `before`: the ids the organization held when the
 * run planned; only certificates created since can be this run's or a racing run's copy (so with
 * reuse-existing off, an older identical certificate is never taken for this run's upload).
 */
export async function uploadOnce(
  api: CertificateApi,
  certificate: CertificateInfo,
  name: string | undefined,
  before: ReadonlySet<string>,
  options: UploadOptions,
): Promise<Upload> {
  const written = await withRetries<StoredCertificate>(
    {
      what: 'upload the certificate',
      attempt: () => api.create(certificate.pem, name, { maxRetries: 0 }),
      check: async () => {
        const found = await keeperOrFail(api, certificate, before, undefined);
        options.log(
          found
            ? `It was stored: ${found.id} holds this certificate, so it is not uploaded again.`
            : 'The organization holds no copy of it yet.',
        );
        return found;
      },
      unconfirmed: `It is not known whether the certificate was stored: an answer was lost, and the organization did not hold it when the action last looked, but the API may still store it late. Before running again, look in the organization for a certificate with fingerprint ${certificate.fingerprint}; with reuse-existing: true (the default), the next run finds it and does not upload it again.`,
    },
    options.retry,
  );

  if (written.recovered) {
    // The copy came from the check after a lost answer; that check's list is the one converged on.
    return { certificate: written.value, uploaded: true, attempts: written.attempts, removed: [], leftOver: [] };
  }
  const own = written.value;
  options.log(`Uploaded ${own.id}${written.attempts > 1 ? ` (after ${written.attempts} attempts)` : ''}.`);
  const keeper = (await keeperOrFail(api, certificate, before, own)) ?? own;
  if (keeper.id === own.id) return { certificate: own, uploaded: true, attempts: written.attempts, removed: [], leftOver: [] };

  // After a lost answer, the older copy may be that attempt's, committed late: then it is this run's too.
  const by = written.maybeApplied ? "by this run's attempt whose answer was lost, or by a run racing this one" : 'by a run racing this one';
  options.log(
    `${keeper.id}, an identical copy stored at ${isoSeconds(keeper.createdAt)} ${by}, is older than ${own.id}: ` +
      `every run keeps the oldest copy, so this run goes on with ${keeper.id} and deletes ${own.id}.`,
  );
  const removed: string[] = [];
  const leftOver: string[] = [];
  try {
    await deleteCertificate(api, own.id, options.retry);
    removed.push(own.id);
    options.log(`Deleted ${own.id}, this run's duplicate.`);
  } catch (error) {
    leftOver.push(own.id);
    options.warning(
      `${own.id}, this run's duplicate of ${keeper.id}, could not be deleted (${error instanceof Error ? error.message : String(error)}). ` +
        `It is inactive everywhere; delete it in the dashboard.`,
    );
  }
  return { certificate: keeper, uploaded: written.maybeApplied, attempts: written.attempts, removed, leftOver };
}

/**
 * Lists the organization and finds the copy every run keeps: among the certificates created since the
 * plan that are identical to this one, the oldest (by `created_at`, and within a second by the list's
 * order, which follows creation). `own` (this run's copy, identical by construction) is never read;
 * another certificate is read only when it comes before the keeper and has the same validity dates.
 */
async function findKeeper(
  api: CertificateApi,
  certificate: CertificateInfo,
  before: ReadonlySet<string>,
  own: StoredCertificate | undefined,
): Promise<StoredCertificate | undefined> {
  const fresh = (await api.listScope(ORGANIZATION)).filter((c) => !before.has(c.id));
  for (const candidate of oldestFirst(fresh)) {
    if (candidate.id === own?.id) return own;
    if (!mayBeIdentical(candidate, certificate)) continue;
    const result = await compare(api, candidate, certificate);
    if (typeof result === 'object') return result;
  }
  return undefined;
}

/** findKeeper, with a failure to look explained: the upload's outcome is then unknown. */
async function keeperOrFail(
  api: CertificateApi,
  certificate: CertificateInfo,
  before: ReadonlySet<string>,
  own: StoredCertificate | undefined,
): Promise<StoredCertificate | undefined> {
  try {
    return await findKeeper(api, certificate, before, own);
  } catch (error) {
    const check = explainApiError(error, { action: 'look for the uploaded certificate', host: api.host });
    throw new ActionError(
      own
        ? `Uploaded ${own.id}, but ${lowerFirst(check.message)} So it is not known whether a run racing this one stored an older copy; nothing was activated.`
        : `${check.message} So it is not known whether the certificate was stored; it was not uploaded again, to avoid a duplicate.`,
      {
        title: check.title ?? 'api',
        hint: `${check.hint ? `${check.hint} ` : ''}Then run the action again: with reuse-existing: true (the default) it finds the certificate if it was stored, and uploads it otherwise.`,
        cause: check.cause,
      },
    );
  }
}

/** Sorted by `created_at`, keeping the list's order (creation order) within a second. */
function oldestFirst(listed: ListedCertificate[]): ListedCertificate[] {
  return listed
    .map((c, i) => ({ c, i }))
    .sort((a, b) => a.c.createdAt - b.c.createdAt || a.i - b.i)
    .map((x) => x.c);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
