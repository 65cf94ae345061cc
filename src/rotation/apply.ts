/**
 * Act, then read back: carries out a plan in the safe order (make room, upload or reuse, activate in every
 * scope, then retire, then delete), and reads each scope again right before anything in it is deactivated and
 * once more after the writes. A scope is never left without an active CA that is valid now by this run's
 * doing: if the last read shows one so left, the run activates its own certificate there again and fails.
 */
import { ApiError } from '../api/errors.js';
import { ORGANIZATION, type Scope, type StoredCertificate } from '../api/reader.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { mapLimit } from '../concurrency.js';
import { ActionError } from '../errors.js';
import { PROJECT_CONCURRENCY } from '../limits.js';
import { isoSeconds } from '../time.js';
import { certificateLabel, scopeLabel } from '../wording.js';
import { localRecord, retirementsIn, scopeAdvisories, validNow, type Advisory, type Plan } from './decide.js';
import { removeCopies, settleReuse, uploadOnce } from './upload.js';
import { activate, deactivate, deleteCertificate, type WriteContext } from './writes.js';

export interface ApplyContext extends WriteContext {
  /** The clock the time decisions use (the API's when the runner's is skewed). */
  now: () => Date;
  certificate: CertificateInfo;
  name: string | undefined;
  /** Says an advisory (annotation, and the summary for warnings). */
  advise: (advisory: Advisory) => void;
}

export async function apply(plan: Plan, ctx: ApplyContext): Promise<void> {
  const { journal, log } = ctx;
  await deleteExpired(
    plan.deleteFirst.map((c) => c.id),
    ctx,
    'to make room under the 50-certificate cap',
  );

  let target: StoredCertificate;
  if (plan.target.kind === 'upload') {
    const upload = await uploadOnce({ certificate: ctx.certificate, name: ctx.name, before: plan.before }, ctx);
    target = upload.certificate;
    journal.uploaded = upload.uploaded;
    journal.lostAnswer = upload.lostAnswer;
    if (!upload.uploaded) reportNameKept(target, ctx);
  } else {
    target = plan.target.certificate;
    if (plan.target.kind === 'reuse') {
      target = await settleReuse(target, { certificate: ctx.certificate, name: ctx.name, before: plan.before }, ctx);
      log.info(`The organization already holds this certificate as ${target.id}: reused, not uploaded again.`);
      reportNameKept(target, ctx);
    }
  }
  journal.certificate = target;
  compareDates(target, ctx);

  const id = target.id;
  const activateIn = async (scope: Scope, needed: boolean): Promise<void> => {
    if (needed) {
      await activate(scope, id, ctx);
      journal.activated.push(scope);
      log.info(`Activated ${id} for ${scopeLabel(scope)}.`);
    } else {
      log.info(`${id} was already active for ${scopeLabel(scope)}.`);
    }
    journal.activeIn.add(scope);
  };
  const organization = plan.scopes.filter((s) => s.scope === ORGANIZATION);
  const projects = plan.scopes.filter((s) => s.scope !== ORGANIZATION);
  for (const scope of organization) await activateIn(scope.scope, scope.activate);
  await mapLimit(projects, PROJECT_CONCURRENCY, (scope) => activateIn(scope.scope, scope.activate));

  if (plan.retireName !== undefined) {
    const rule = { name: plan.retireName, copies: new Set(plan.copies), advised: new Set(plan.advisories.map((a) => a.message)) };
    await mapLimit(plan.scopes, PROJECT_CONCURRENCY, (scope) => retireIn(scope.scope, target, rule, ctx));
  }
  await verifyCoverage(
    plan.scopes.map((s) => s.scope),
    target,
    ctx,
  );
  await deleteExpired(
    plan.deleteAfter.map((c) => c.id),
    ctx,
    'expired and inactive',
  );
  if (plan.duplicates.length) await removeDuplicates(plan.duplicates, target, ctx);
}

/**
 * Reads the scope again, and deactivates only what the fresh read shows may go: the target must be listed
 * active there and be valid now; only older certificates of the same name are retired.
 */
async function retireIn(
  scope: Scope,
  target: StoredCertificate,
  rule: { name: string; copies: ReadonlySet<string>; advised: ReadonlySet<string> },
  ctx: ApplyContext,
): Promise<void> {
  const listed = await ctx.api.listScope(scope);
  const label = scopeLabel(scope);
  const own = listed.find((c) => c.id === target.id);
  if (!own?.active) {
    warn(ctx, 'retire-previous', `Nothing was retired in ${label}: read back, it does not list ${target.id} active.`);
    return;
  }
  const now = ctx.now();
  if (!validNow(own, now.getTime() / 1000)) {
    ctx.log.info(`Nothing retired in ${label}: ${target.id} is not valid now by the API's dates, so the previous CA stays active.`);
    return;
  }
  const { retire, leftActive } = retirementsIn(listed, own, { name: rule.name, copies: rule.copies, now });
  for (const advisory of scopeAdvisories(scope, own, { retire, leftActive, name: rule.name }))
    if (!rule.advised.has(advisory.message)) ctx.advise(advisory);
  if (retire.length === 0) return;
  const ids = retire.map((c) => c.id);
  await deactivate(scope, ids, ctx);
  for (const retired of ids) ctx.journal.retired.push({ scope, id: retired });
  ctx.log.info(
    `Retired ${retire.map(certificateLabel).join(', ')} for ${label} (older, same name "${rule.name}", replaced by ${target.id}).`,
  );
}

/**
 * Reads each scope the run touched once more. Where no active CA is valid now, the run activates its own
 * certificate again and fails, saying what it found and did.
 */
async function verifyCoverage(scopes: readonly Scope[], target: StoredCertificate, ctx: ApplyContext): Promise<void> {
  const uncovered: string[] = [];
  await mapLimit(scopes, PROJECT_CONCURRENCY, async (scope) => {
    const listed = await ctx.api.listScope(scope);
    const now = ctx.now().getTime() / 1000;
    const own = listed.find((c) => c.id === target.id);
    if (own?.active) ctx.journal.activeIn.add(scope);
    else ctx.journal.activeIn.delete(scope);
    const active = listed.filter((c) => c.active);
    if (active.some((c) => validNow(c, now))) return;
    const found = active.length ? active.map((c) => `${certificateLabel(c)} (${describeValidity(c)})`).join(', ') : 'no active certificate';
    let did = '';
    if (!own?.active) {
      await activate(scope, target.id, ctx);
      ctx.journal.activeIn.add(scope);
      did = ` The action activated ${target.id} there again.`;
    }
    uncovered.push(`${scopeLabel(scope)}: read back, it lists ${found}.${did}`);
  });
  if (uncovered.length) {
    throw new ActionError(`A scope has no active CA that is valid now. ${uncovered.join(' ')}`, {
      title: 'coverage',
      hint: 'Clients of that scope may be refused. Check the scope in the dashboard: activate a valid CA there (or run the action again once the new CA is valid).',
    });
  }
}

function describeValidity(c: { validAt: number | null; expiresAt: number | null }): string {
  if (c.validAt === null || c.expiresAt === null) return 'validity not given by the API';
  return `valid ${isoSeconds(c.validAt)} to ${isoSeconds(c.expiresAt)}`;
}

/**
 * Deletes expired certificates, after reading the organization again: only those still listed, still
 * inactive and still known to be expired. One the API refuses as in use is kept, with a notice.
 */
async function deleteExpired(ids: readonly string[], ctx: ApplyContext, why: string): Promise<void> {
  if (ids.length === 0) return;
  const fresh = await ctx.api.listScope(ORGANIZATION);
  const now = ctx.now().getTime() / 1000;
  for (const id of ids) {
    const c = fresh.find((listed) => listed.id === id);
    if (!c) {
      ctx.log.info(`${id} was already gone: deleted by someone else since the plan.`);
      continue;
    }
    if (c.active || c.expiresAt === null || c.expiresAt > now) {
      ctx.log.info(`Kept ${certificateLabel(c)}: read again, it is no longer expired and inactive.`);
      continue;
    }
    try {
      if ((await deleteCertificate(id, ctx)) === 'gone') {
        ctx.log.info(`${certificateLabel(c)} was already gone: deleted by someone else since the plan.`);
        continue;
      }
      ctx.journal.deleted.push(id);
      ctx.log.info(`Deleted ${certificateLabel(c)}: ${why}.`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.kind !== 'in-use') throw error;
      ctx.journal.keptInUse.push(id);
      ctx.log.notice(
        `Kept ${certificateLabel(c)}: it has expired, but OpenAI reports it still active in a project (certificate_in_use). Deactivate it there to let it be deleted.`,
        'delete-expired',
      );
    }
  }
}

/** Identical copies from earlier runs that were inactive everywhere read: read the organization again, then delete. */
async function removeDuplicates(copies: readonly StoredCertificate[], keeper: StoredCertificate, ctx: ApplyContext): Promise<void> {
  const fresh = await ctx.api.listScope(ORGANIZATION);
  const still = copies.filter((c) => fresh.some((listed) => listed.id === c.id && !listed.active));
  await removeCopies(still, keeper, ctx);
}

/** The API's dates for the certificate the run goes on with, against the certificate's own. */
function compareDates(target: StoredCertificate, ctx: ApplyContext): void {
  const own = localRecord(ctx.certificate);
  const differs = (api: number | null, local: number | null): boolean => api !== null && local !== null && Math.abs(api - local) > 1;
  if (differs(target.validAt, own.validAt) || differs(target.expiresAt, own.expiresAt)) {
    warn(
      ctx,
      'dates',
      `The API's dates for ${target.id} (${describeValidity(target)}) differ from the certificate's own (${describeValidity(own)}). The outputs report the API's dates.`,
    );
  } else if (target.validAt === null || target.expiresAt === null) {
    ctx.log.notice(`The API gives no validity dates for ${target.id}: the outputs report the certificate's own dates.`, 'dates');
  }
}

function warn(ctx: ApplyContext, title: string, message: string): void {
  ctx.advise({ level: 'warning', title, message });
}

/** A certificate this run did not store keeps the name it has: say so when another was asked for. */
function reportNameKept(stored: StoredCertificate, ctx: ApplyContext): void {
  if (ctx.name && stored.name !== ctx.name) {
    ctx.log.notice(
      `${stored.id} keeps its name ${stored.name === null ? '(none)' : `"${stored.name}"`}; the name "${ctx.name}" was not applied. ` +
        'Rename it in the dashboard if you want the new name, or set reuse-existing: false to upload a copy under the new name.',
      'name',
    );
  }
}
