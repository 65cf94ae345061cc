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
import { compare, mayBeIdentical } from './identical.js';
import { withRetries } from './retry.js';
import { deleteCertificate, type WriteContext } from './writes.js';

export interface UploadRequest {
  certificate: CertificateInfo;
  name: string | undefined;
  /** The ids the organization held when the run planned. */
  before: readonly string[];
  /**
   * The run goes on to activate the copy it keeps: the keeper must then be final, so the run waits until the
   * API's clock has left the second the keeper was stored in, and looks again (see settledLook).
   */
  final?: boolean;
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
      look = await lookOrFail(request, ctx, own);
    }
  } catch (error) {
    // Refused at the cap: a racing run may have stored the same certificate; go on with its copy.
    if (!(error instanceof ApiError) || error.kind !== 'limit') throw error;
    ctx.log.info('The upload was refused at the certificate limit; looking for a copy a racing run stored.');
    look = await lookOrFail(request, ctx, undefined);
    if (!look.keeper) throw error;
  }
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

/** How long the action waits at most for the API's clock to leave a second. */
const MAX_SECOND_WAIT_MS = 2000;

/**
 * `look`, made final when the run will activate what it keeps. OpenAI's `created_at` is in whole seconds, so a
 * racing run's copy stored later in the same second as the keeper, with a smaller id, would be older by the
 * rule every run follows. Once the API's clock (its `Date` header, read with the runner's clock since) has left
 * that second, every copy stored in it is listed, and the keeper no longer changes: the run waits for that (at
 * most 2 s, and only when the last answer was still within that second), then looks again.
 */
async function look(request: UploadRequest, ctx: WriteContext, own: StoredCertificate | undefined): Promise<Look> {
  const first = await lookOnce(request, ctx, own);
  if (!request.final || !first.keeper) return first;
  const reading = ctx.api.clock;
  if (!reading) return first;
  const apiNow = reading.api + (Date.now() - reading.local);
  const wait = (first.keeper.createdAt + 1) * 1000 + 1000 - apiNow;
  if (Math.floor(reading.api / 1000) > first.keeper.createdAt || wait <= 0 || wait > MAX_SECOND_WAIT_MS + 1000) return first;
  ctx.log.info(
    `Waiting ${(Math.min(wait, MAX_SECOND_WAIT_MS) / 1000).toFixed(1)} s for the second ${first.keeper.id} was stored in to pass, so that every copy stored in it is listed.`,
  );
  await ctx.retry.sleep(Math.min(wait, MAX_SECOND_WAIT_MS));
  return lookOnce(request, ctx, own);
}

/**
 * Lists the organization and converges: among the certificates created since the plan that are identical to
 * this one (read by content; `own`, identical by construction, is not read), the oldest is kept and the rest
 * that are inactive are removed.
 */
async function lookOnce(request: UploadRequest, ctx: WriteContext, own: StoredCertificate | undefined): Promise<Look> {
  const before = new Set(request.before);
  const listed = await ctx.api.listScope(ORGANIZATION);
  const fresh = listed.filter((c) => !before.has(c.id));
  const copies: StoredCertificate[] = [];
  for (const candidate of fresh) {
    const known = candidate.id === own?.id ? own : ctx.journal.knownCopies.get(candidate.id);
    if (known) copies.push(known);
    else if (mayBeIdentical(candidate, request.certificate)) {
      const result = await compare(ctx.api, candidate, request.certificate);
      if (typeof result === 'object') {
        ctx.journal.knownCopies.set(result.id, result);
        copies.push(result);
      }
    }
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
