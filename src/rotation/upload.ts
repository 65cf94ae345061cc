/**
 * The upload, exactly once in the real world. The SDK would retry it blindly (it sends no idempotency key),
 * so the action retries it itself, looking at the organization after any failure that may have stored it.
 * After any upload (answered, lost, or unreadable) the organization is listed again: of the identical copies
 * created since the plan, every run keeps the oldest (by `created_at`, then id), and deletes the others that
 * are active nowhere it read. `uploaded` is true only when the kept copy's id came back to this run.
 */
import { ApiError } from '../api/errors.js';
import { ORGANIZATION, type ListedCertificate, type StoredCertificate } from '../api/reader.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import { isoSeconds } from '../time.js';
import { converge } from './decide.js';
import { knownCopy } from './identical.js';
import { withRetries } from './retry.js';
import { deleteCertificate, type WriteContext } from './writes.js';

export interface UploadRequest {
  certificate: CertificateInfo;
  name: string | undefined;
  /** The ids the organization held when the run planned. */
  before: readonly string[];
}

export interface Upload {
  /** The copy the run goes on with. */
  certificate: StoredCertificate;
  /** The kept copy's id came back to this run. */
  uploaded: boolean;
  /** An answer was lost or could not be read. */
  lostAnswer: boolean;
}

interface Look {
  keeper: StoredCertificate | undefined;
  remove: StoredCertificate[];
}

/** Uploads the certificate and converges on one copy. */
export async function uploadOnce(request: UploadRequest, ctx: WriteContext): Promise<Upload> {
  const { certificate } = request;
  let own: StoredCertificate | undefined;
  let look: Look | undefined;
  let lostAnswer = false;
  // The look that decided the keeper was sent after the keeper's second had passed (see settleSecond).
  let final = false;
  try {
    const written = await ctx.journal.track('upload the certificate', () =>
      withRetries<StoredCertificate>(
        {
          what: 'upload the certificate',
          attempt: () => ctx.api.create(certificate.pem, request.name, { maxRetries: 0 }),
          check: async () => {
            lostAnswer = true;
            look = await lookOrFail(request, ctx, undefined);
            ctx.log.info(
              look.keeper
                ? `It was stored: ${look.keeper.id} holds this certificate, so it is not uploaded again.`
                : 'The organization holds no copy of it yet.',
            );
            return look.keeper;
          },
          unconfirmed: `It is not known whether the certificate was stored: an answer was lost, and the organization did not hold it when the action last looked, but the API may still store it late. The next run with reuse-existing: true (the default) finds it (fingerprint ${certificate.fingerprint}) and does not upload it again, and removes any duplicate.`,
        },
        ctx,
      ),
    );
    lostAnswer ||= written.maybeApplied;
    if (!written.recovered) {
      own = written.value;
      ctx.log.info(`Uploaded ${own.id}${written.attempts > 1 ? ` (after ${written.attempts} attempts)` : ''}.`);
      // Looking only once this copy's second has passed makes the one look final (see settleSecond).
      final = await waitPastSecond(own.createdAt, ctx);
      look = await lookOrFail(request, ctx, own);
    }
  } catch (error) {
    // Refused at the cap: a racing run may have stored the same certificate; go on with its copy.
    if (!(error instanceof ApiError) || error.kind !== 'limit') throw error;
    ctx.log.info('The upload was refused at the certificate limit; looking for a copy a racing run stored.');
    look = await lookOrFail(request, ctx, undefined);
    if (!look.keeper) throw error;
  }
  if (look?.keeper && !final) look = await settleSecond({ request, own, look }, ctx);
  const keeper = look?.keeper ?? own;
  if (!keeper) throw new ActionError('The upload ended with no certificate to go on with.', { title: 'api' });
  if (lostAnswer && keeper.id !== own?.id) {
    ctx.log.info(
      `This run lost an upload's answer: ${keeper.id} (stored at ${isoSeconds(keeper.createdAt)}) is the copy every run keeps; it may be this run's late commit or a racing run's, so this run does not claim it (uploaded: false).`,
    );
  } else if (own && keeper.id !== own.id) {
    ctx.log.info(
      `${keeper.id}, an identical copy stored at ${isoSeconds(keeper.createdAt)}, is older than ${own.id}: every run keeps the oldest copy, so this run goes on with ${keeper.id}.`,
    );
  }
  await removeCopies(look?.remove ?? [], keeper, ctx);
  return { certificate: keeper, uploaded: own !== undefined && keeper.id === own.id, lostAnswer };
}

/** The longest a run waits for the keeper's second to pass (an API whose `Date` is far from its `created_at`). */
const MAX_SETTLE_WAIT_MS = 2000;

/**
 * Waits until the API's clock has passed `second` (unix seconds), judged by the latest `Date` header (the
 * API's time is at least that), at most MAX_SETTLE_WAIT_MS. True when the second has passed for sure.
 */
async function waitPastSecond(second: number, ctx: WriteContext): Promise<boolean> {
  const latest = ctx.api.clock;
  if (!latest) return false;
  const wait = (second + 1) * 1000 - latest.api;
  if (wait <= 0) return true;
  await ctx.retry.sleep(Math.min(wait, MAX_SETTLE_WAIT_MS));
  return wait <= MAX_SETTLE_WAIT_MS;
}

/**
 * `created_at` counts whole seconds and ties go by id, so a copy stored later in the same second as the
 * keeper can sort before it: a run that looked within that second could keep its copy while a racing run
 * keeps the other. A look is final only when it was sent after the keeper's second had passed by the API's
 * clock (every copy stored after it was read then has a later `created_at`). After a look that may not be
 * (after a lost answer, or a refusal at the cap), the run waits until the keeper's second has passed and
 * looks once more. Without any `Date` header from the API there is no clock to wait for, and the look stands.
 */
async function settleSecond(
  after: { request: UploadRequest; own: StoredCertificate | undefined; look: Look },
  ctx: WriteContext,
): Promise<Look> {
  const { request, own, look } = after;
  if (!look.keeper || !ctx.api.clock) return look;
  // The look's own answer already came after the keeper's second: that look was final.
  if (Math.floor(ctx.api.clock.api / 1000) > look.keeper.createdAt) return look;
  await waitPastSecond(look.keeper.createdAt, ctx);
  return lookOrFail(request, ctx, own);
}

/**
 * A copy reused at plan time may have been stored in the same second as a racing run's copy with a smaller
 * id, stored after the plan read the organization: uploaders then keep that one. When the reused copy was
 * stored within a second of the API's latest `Date`, the run waits until its second has passed and looks
 * once more: of the reused copy and the identical copies stored since the plan, it goes on with the oldest.
 * The reused copy is left to the run that stored it (or a later run) to remove.
 */
export async function settleReuse(reused: StoredCertificate, request: UploadRequest, ctx: WriteContext): Promise<StoredCertificate> {
  const latest = ctx.api.clock;
  if (!latest || reused.createdAt + 1 < Math.floor(latest.api / 1000)) return reused;
  await waitPastSecond(reused.createdAt, ctx);
  const found = await lookOrFail({ ...request, before: request.before.filter((id) => id !== reused.id) }, ctx, reused);
  const keeper = found.keeper ?? reused;
  if (keeper.id !== reused.id)
    ctx.log.info(
      `${keeper.id}, an identical copy stored at ${isoSeconds(keeper.createdAt)} by a racing run, sorts before ${reused.id} (the same second, a smaller id): every run keeps the oldest copy, so this run goes on with ${keeper.id}.`,
    );
  return keeper;
}

/** Deletes identical copies other than the keeper; one the API refuses (in use) or that fails is left with a warning. */
export async function removeCopies(copies: readonly StoredCertificate[], keeper: StoredCertificate, ctx: WriteContext): Promise<void> {
  for (const copy of copies) {
    if (copy.id === keeper.id) continue;
    try {
      await deleteCertificate(copy.id, ctx);
      ctx.journal.duplicates.push(copy.id);
      ctx.log.info(`Deleted ${copy.id}, a duplicate of ${keeper.id} (the same certificate).`);
    } catch (error) {
      const inUse = error instanceof ApiError && error.kind === 'in-use';
      const message = inUse
        ? `Kept ${copy.id}, a duplicate of ${keeper.id}: OpenAI reports it in use somewhere. Deactivate it there; a later run removes it.`
        : `${copy.id}, a duplicate of ${keeper.id}, could not be deleted (${(error as Error).message}). A later run with reuse-existing: true removes it.`;
      ctx.log.warning(message, 'duplicate');
      ctx.journal.cautions.push(message);
    }
  }
}

/**
 * Lists the organization and converges: among the certificates created since the plan that are identical to
 * this one (read by content; `own`, identical by construction, is not read), the oldest is kept and the rest
 * that are inactive are removed.
 */
async function look(request: UploadRequest, ctx: WriteContext, own: StoredCertificate | undefined): Promise<Look> {
  const before = new Set(request.before);
  const listed = await ctx.api.listScope(ORGANIZATION);
  const fresh = listed.filter((c) => !before.has(c.id));
  const copies: StoredCertificate[] = [];
  for (const candidate of fresh) {
    const copy =
      candidate.id === own?.id
        ? own
        : await knownCopy(candidate, { api: ctx.api, certificate: request.certificate, cache: ctx.journal.knownCopies });
    if (copy) copies.push(copy);
  }
  if (own && !copies.some((c) => c.id === own.id)) copies.push(own);
  const organization: ListedCertificate[] = listed;
  return converge(copies, { organization, projects: [] });
}

/** look, with a failure to look explained: the upload's outcome is then unknown. */
async function lookOrFail(request: UploadRequest, ctx: WriteContext, own: StoredCertificate | undefined): Promise<Look> {
  try {
    return await look(request, ctx, own);
  } catch (error) {
    if (!(error instanceof ActionError)) throw error;
    const message = own
      ? `Uploaded ${own.id}, but could not look for copies a racing run stored: ${error.message} Nothing was activated.`
      : `${error.message} So it is not known whether the certificate was stored; it was not uploaded again, to avoid a duplicate.`;
    const hint = `${error.hint ? `${error.hint} ` : ''}Then run the action again: with reuse-existing: true (the default) it finds the certificate if it was stored (fingerprint ${request.certificate.fingerprint}), uploads it otherwise, and removes any duplicate.`;
    throw error instanceof ApiError ? error.restate(message, hint) : new ActionError(message, { title: error.title ?? 'api', hint });
  }
}
