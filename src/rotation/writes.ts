/**
 * Deletions and deactivations, retried by the action (see retry.ts) so that a lost answer is told
 * apart from a real failure: a DELETE whose answer was lost and whose retry finds nothing to delete did
 * its work; a certificate that is gone is no longer active anywhere.
 */
import { APIError } from 'openai';
import type { CertificateApi } from '../api/certificates.js';
import type { Scope } from '../api/reader.js';
import { withRetries, type Failure, type RetryOptions } from './retry.js';

/** The API answered 404 for the certificate (not for a project). */
function certificateNotFound(failure: Failure): boolean {
  const error = failure.error;
  return error instanceof APIError && error.status === 404 && !/project/.test(error.param ?? '');
}

/**
 * Deletes one certificate. `deleted`: this run deleted it (a 404 after an attempt whose answer was lost
 * means that attempt did); `gone`: it was gone before this run asked (deleted by someone else).
 */
export async function deleteCertificate(api: CertificateApi, id: string, retry: RetryOptions): Promise<'deleted' | 'gone'> {
  const result = await withRetries<'deleted' | 'gone'>(
    {
      what: `delete ${id}`,
      attempt: async () => {
        await api.delete(id, { maxRetries: 0 });
        return 'deleted';
      },
      settle: (failure, afterMaybeApplied) => (certificateNotFound(failure) ? (afterMaybeApplied ? 'deleted' : 'gone') : undefined),
      unconfirmed: `It is not known whether ${id} was deleted: an answer was lost. Look for it in the organization's certificates before running again.`,
    },
    retry,
  );
  if (result.recovered && result.value === 'deleted') retry.log(`${id} is gone: the attempt whose answer was lost deleted it.`);
  return result.value;
}

/**
 * Deactivates certificates in one scope. A certificate that is gone (404) is not active anywhere, so it
 * counts as deactivated; as the API refuses a whole call for one missing id, such a call is split.
 */
export async function deactivate(api: CertificateApi, scope: Scope, ids: string[], retry: RetryOptions): Promise<void> {
  const once = (batch: string[]) =>
    withRetries<'done' | 'gone'>(
      {
        what: `deactivate ${batch.join(', ')}`,
        attempt: async () => {
          await api.toggle(scope, batch, false, { maxRetries: 0 });
          return 'done';
        },
        settle: (failure) => (certificateNotFound(failure) ? 'gone' : undefined),
        unconfirmed: `It is not known whether ${batch.join(', ')} ${batch.length === 1 ? 'was' : 'were'} deactivated: an answer was lost.`,
      },
      retry,
    );
  if ((await once(ids)).value === 'done') return;
  if (ids.length === 1) {
    retry.log(`${ids[0]} is gone: it is no longer active anywhere.`);
    return;
  }
  for (const id of ids) await deactivate(api, scope, [id], retry);
}
