/**
 * Deletions, activations and deactivations, retried by the action (see retry.ts) so that a lost answer is
 * told apart from a real failure: a DELETE whose answer was lost and whose retry finds nothing to delete did
 * its work; a certificate that is gone is no longer active anywhere. No answer is trusted for its status
 * alone: an activation is confirmed by its answer or by reading the scope back.
 */
import type { CertificateApi } from '../api/certificates.js';
import type { ApiError } from '../api/errors.js';
import type { Scope } from '../api/reader.js';
import type { Logger } from '../log.js';
import { scopeLabel } from '../wording.js';
import type { Journal } from './journal.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { ActionError } from '../errors.js';

export interface WriteContext {
  api: CertificateApi;
  retry: RetryPolicy;
  log: Logger;
  journal: Journal;
}

/** The API answered 404 for the certificate (not for a project, and not for something it did not name). */
function certificateGone(failure: ApiError): boolean {
  return failure.kind === 'not-found' && failure.facts.missing === 'certificate';
}

/**
 * Deletes one certificate. `deleted`: this run deleted it (a 404 after an attempt whose answer was lost
 * means that attempt did); `gone`: it was gone before this run asked (deleted by someone else).
 */
export async function deleteCertificate(id: string, ctx: WriteContext): Promise<'deleted' | 'gone'> {
  const result = await ctx.journal.track(`delete ${id}`, () =>
    withRetries<'deleted' | 'gone'>(
      {
        what: `delete ${id}`,
        attempt: async () => {
          await ctx.api.delete(id, { maxRetries: 0 });
          return 'deleted';
        },
        settle: (failure, afterMaybeApplied) => (certificateGone(failure) ? (afterMaybeApplied ? 'deleted' : 'gone') : undefined),
        unconfirmed: `It is not known whether ${id} was deleted: an answer was lost. Look for it in the organization's certificates before running again.`,
      },
      ctx,
    ),
  );
  if (result.recovered && result.value === 'deleted') ctx.log.info(`${id} is gone: the attempt whose answer was lost deleted it.`);
  return result.value;
}

/**
 * Deactivates certificates in one scope. A certificate that is gone (404) is not active anywhere, so it
 * counts as deactivated; as the API refuses a whole call for one missing id, such a call is split.
 */
export async function deactivate(scope: Scope, ids: string[], ctx: WriteContext): Promise<void> {
  const once = (batch: string[]) =>
    ctx.journal.track(`deactivate ${batch.join(', ')} for ${scopeLabel(scope)}`, () =>
      withRetries<'done' | 'gone'>(
        {
          what: `deactivate ${batch.join(', ')} for ${scopeLabel(scope)}`,
          attempt: async () => {
            await ctx.api.deactivate(scope, batch, { maxRetries: 0 });
            return 'done';
          },
          settle: (failure) => (certificateGone(failure) ? 'gone' : undefined),
          unconfirmed: `It is not known whether ${batch.join(', ')} ${batch.length === 1 ? 'was' : 'were'} deactivated: an answer was lost.`,
        },
        ctx,
      ),
    );
  if ((await once(ids)).value === 'done') return;
  if (ids.length === 1) {
    ctx.log.info(`${ids[0]} is gone: it is no longer active anywhere.`);
    return;
  }
  for (const id of ids) await deactivate(scope, [id], ctx);
}

/**
 * Activates one certificate in one scope and makes sure it is active: confirmed by the answer, or by reading
 * the scope back when the answer does not say (a 2xx that is not the API's, an empty list). Activation is
 * idempotent, so it is tried once more when the read-back does not list it active; then the run fails.
 */
export async function activate(scope: Scope, id: string, ctx: WriteContext): Promise<void> {
  const label = scopeLabel(scope);
  for (let attempt = 1; attempt <= 2; attempt++) {
    const confirmed = await ctx.journal.track(`activate ${id} for ${label}`, () => ctx.api.activate(scope, [id]));
    if (confirmed.has(id)) return;
    ctx.log.info(`The answer to activating ${id} for ${label} does not list it active; reading ${label} back.`);
    const listed = await ctx.api.listScope(scope);
    if (listed.some((c) => c.id === id && c.active)) return;
  }
  throw new ActionError(
    `The API accepted the activation of ${id} for ${label} twice, but ${label} does not list it active. Nothing was retired.`,
    {
      title: 'api',
      hint: "A proxy or gateway may be answering in the API's place (check base-url and the proxy settings), or the API is not applying activations: check the certificate in the dashboard and run the action again.",
    },
  );
}
