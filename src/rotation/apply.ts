/**
 * Act, then read back: carries out a plan in the safe order (make room, upload or reuse, activate in every
 * scope, then retire, then delete), and reads each scope again right before anything in it is deactivated and
 * once more after the writes. A scope is never left without an active CA that is valid now by this run's
 * doing: if the last read shows one so left, the run activates its own certificate there again and fails.
 */
import { ApiError } from '../api/errors.js';
import { ORGANIZATION, type ListedCertificate, type Scope, type StoredCertificate } from '../api/reader.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { mapLimit } from '../concurrency.js';
import { ActionError } from '../errors.js';
import { PROJECT_CONCURRENCY } from '../limits.js';
import { isoSeconds } from '../time.js';
import { certificateLabel, scopeLabel } from '../wording.js';
import { activateInStages, type CanaryRun } from './canary.js';
import { isOlder, localRecord, oldestFirst, retirementsIn, scopeAdvisories, validNow, type Advisory, type Plan } from './decide.js';
import { knownCopy } from './identical.js';
import { removeCopies, settleReuse, uploadOnce } from './upload.js';
import { activate, deactivate, deleteCertificate, type WriteContext } from './writes.js';

export interface ApplyContext extends WriteContext {
  /** The clock the time decisions use (the API's when the runner's is skewed). */
  now: () => Date;
  certificate: CertificateInfo;
  name: string | undefined;
  /** Says an advisory (annotation, and the summary for warnings). */
  advise: (advisory: Advisory) => void;
  /** Staged rollout (canary.ts): the canary inputs, when the plan has a canary project. */
  canary?: CanaryRun | undefined;
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

  try {
    await activateAll(plan, target, ctx);
  } catch (error) {
    // A racing run deleted this run's fresh copy (an older identical copy is kept): go on with that one.
    if (
      !(error instanceof ApiError) ||
      error.kind !== 'not-found' ||
      error.facts.missing !== 'certificate' ||
      plan.target.kind !== 'upload'
    )
      throw error;
    const keeper = oldestFirst((await copiesNow(plan, target, ctx)).copies.filter((c) => c.id !== target.id))[0];
    if (!keeper) throw error;
    log.info(
      `${target.id} was deleted by a run racing this one, which keeps the older identical copy ${keeper.id}: this run goes on with it.`,
    );
    if (journal.certificate?.id === target.id) journal.uploaded = false;
    target = keeper;
    journal.certificate = target;
    await activateAll({ ...plan, scopes: plan.scopes.map((s) => ({ ...s, activate: true })) }, target, ctx);
  }

  if (plan.retireName !== undefined) {
    const rule = { name: plan.retireName, copies: new Set(plan.copies), advised: new Set(plan.advisories.map((a) => a.message)) };
    await mapLimit(plan.scopes, PROJECT_CONCURRENCY, (scope) => retireIn({ scope: scope.scope, target }, rule, ctx));
  }
  target = await settleAndVerify(plan, target, ctx);
  await deleteExpired(
    plan.deleteAfter.map((c) => c.id),
    ctx,
    'expired and inactive',
  );
  if (plan.duplicates.length) await removeDuplicates(plan.duplicates, target, ctx);
}

/**
 * Activates the target in every scope of the plan: the organization first, then the projects; with a canary
 * project (issue 24), canary.ts activates it first and proves it before the rest.
 */
async function activateAll(plan: Plan, target: StoredCertificate, ctx: ApplyContext): Promise<void> {
  const activateIn = async (scope: Scope, needed: boolean): Promise<void> => {
    if (needed) {
      await activate(scope, target.id, ctx);
      if (!ctx.journal.activated.includes(scope)) ctx.journal.activated.push(scope);
      ctx.log.info(`Activated ${target.id} for ${scopeLabel(scope)}.`);
    } else {
      ctx.log.info(`${target.id} was already active for ${scopeLabel(scope)}.`);
    }
    ctx.journal.activeIn.add(scope);
  };
  if (plan.canaryProject !== undefined) {
    await activateInStages({ plan, target }, activateIn, ctx);
    return;
  }
  const organization = plan.scopes.filter((s) => s.scope === ORGANIZATION);
  const projects = plan.scopes.filter((s) => s.scope !== ORGANIZATION);
  for (const scope of organization) await activateIn(scope.scope, scope.activate);
  await mapLimit(projects, PROJECT_CONCURRENCY, (scope) => activateIn(scope.scope, scope.activate));
}

/**
 * Reads the scope again, and deactivates only what the fresh read shows may go: the target must be listed
 * active there and be valid now; only older certificates of the same name are retired.
 */
async function retireIn(
  where: { scope: Scope; target: StoredCertificate },
  rule: { name: string; copies: ReadonlySet<string>; advised: ReadonlySet<string> },
  ctx: ApplyContext,
): Promise<void> {
  const { scope, target } = where;
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
  // A copy of the target stored by a racing run is the same CA: it is settled with the copies, never retired.
  const copies = new Set(rule.copies);
  for (const c of listed)
    if (c.active && c.id !== target.id && !copies.has(c.id))
      if (await knownCopy(c, { api: ctx.api, certificate: ctx.certificate, cache: ctx.journal.knownCopies })) copies.add(c.id);
  const { retire, leftActive } = retirementsIn(listed, own, { name: rule.name, copies, now });
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
 * The last reads, once the writes are done. First the copies: runs racing on one certificate may each have
 * stored and activated a copy before they could see each other's (OpenAI's `created_at` is in whole seconds).
 * Of every identical copy now listed (this run's, the plan's, and any created since the plan), the oldest by
 * `created_at`, then id, is kept: the run activates it in its scopes and only then deactivates the other
 * copies there (the same CA, so no scope loses coverage), and deletes those that are inactive. Then each scope
 * is read once more: where no active CA is valid now, the run activates its certificate there again and fails,
 * saying what it found and did. Returns the certificate the run ends with.
 */
async function settleAndVerify(plan: Plan, target: StoredCertificate, ctx: ApplyContext): Promise<StoredCertificate> {
  const scopes = plan.scopes.map((s) => s.scope);
  if (scopes.length === 0) return target;
  let copies: StoredCertificate[];
  let organization: ListedCertificate[];
  try {
    ({ copies, organization } = await copiesNow(plan, target, ctx));
  } catch (error) {
    if (!lockedOut(error, ctx)) throw error;
    return target;
  }
  const keeper = oldestFirst(copies)[0] ?? target;
  // `activated` says where the certificate is active as far as the run read: the organization too, when it was
  // already active there although the run was asked only for projects.
  if (organization.some((c) => c.id === keeper.id && c.active)) ctx.journal.activeIn.add(ORGANIZATION);
  if (keeper.id !== target.id) {
    ctx.log.info(
      `${keeper.id}, an identical copy stored at ${isoSeconds(keeper.createdAt)}, is older than ${target.id}: every run keeps the oldest copy, so this run moves to it.`,
    );
    await mapLimit(scopes, PROJECT_CONCURRENCY, (scope) => activate(scope, keeper.id, ctx));
    if (ctx.journal.uploaded && ctx.journal.certificate?.id === target.id) ctx.journal.uploaded = false;
    ctx.journal.certificate = keeper;
  }
  const others = new Set(copies.filter((c) => c.id !== keeper.id).map((c) => c.id));
  const uncovered: string[] = [];
  await mapLimit(scopes, PROJECT_CONCURRENCY, async (scope) => {
    let listed = await readBack(scope, ctx);
    if (listed === undefined) return;
    const stale = listed.filter((c) => c.active && others.has(c.id)).map((c) => c.id);
    if (stale.length && listed.some((c) => c.id === keeper.id && c.active)) {
      await deactivate(scope, stale, ctx);
      ctx.log.info(`Deactivated ${stale.join(', ')} for ${scopeLabel(scope)}: duplicates of ${keeper.id}, which is active there.`);
      listed = listed.map((c) => (stale.includes(c.id) ? { ...c, active: false } : c));
    }
    const problem = await coverageProblem({ scope, listed, keeper }, ctx);
    if (problem) uncovered.push(problem);
  });
  const removable = copies.filter((c) => others.has(c.id));
  if (removable.length) await removeCopies(removable, keeper, ctx);
  if (uncovered.length) {
    const heading = uncovered.some((u) => u.includes('although the API accepted'))
      ? 'The API accepted an activation that a scope does not hold.'
      : 'A scope has no active CA that is valid now.';
    throw new ActionError(`${heading} ${uncovered.join(' ')}`, {
      title: 'coverage',
      hint: 'Clients of that scope may be refused. Check the scope in the dashboard: activate a valid CA there (or run the action again once the new CA is valid).',
    });
  }
  return keeper;
}

/** Every identical copy the organization lists now: the target, the plan's copies, and copies created since the plan. */
async function copiesNow(
  plan: Plan,
  target: StoredCertificate,
  ctx: ApplyContext,
): Promise<{ copies: StoredCertificate[]; organization: ListedCertificate[] }> {
  const listed = await ctx.api.listScope(ORGANIZATION);
  const before = new Set(plan.before);
  const known = new Set([target.id, ...plan.copies]);
  const copies: StoredCertificate[] = [target];
  for (const c of listed) {
    if (c.id === target.id) continue;
    const compared = ctx.journal.knownCopies.get(c.id);
    if (compared) copies.push(compared);
    else if (known.has(c.id)) copies.push({ ...c, content: undefined });
    else if (!before.has(c.id)) {
      const copy = await knownCopy(c, { api: ctx.api, certificate: ctx.certificate, cache: ctx.journal.knownCopies });
      if (copy) copies.push(copy);
    }
  }
  return { copies, organization: listed };
}

/**
 * A scope read back, or undefined when the read is refused for want of a client certificate after this run
 * retired the CA that certificate chains to (a warning says so: the rotation itself was read back before).
 */
async function readBack(scope: Scope, ctx: ApplyContext): Promise<ListedCertificate[] | undefined> {
  try {
    return await ctx.api.listScope(scope);
  } catch (error) {
    if (!lockedOut(error, ctx)) throw error;
    return undefined;
  }
}

/**
 * Whether a read was refused for want of a client certificate after this run retired a CA for the
 * organization: the client certificate the run presents most likely chains to that CA. The rotation itself was
 * read back before the retirement, so this is a warning (said once), not a failure.
 */
function lockedOut(error: unknown, ctx: ApplyContext): boolean {
  if (!(error instanceof ApiError) || error.kind !== 'mtls-required' || !ctx.journal.retired.some((r) => r.scope === ORGANIZATION))
    return false;
  const said = 'The action could not read back after retiring for the organization';
  if (!ctx.journal.cautions.some((c) => c.startsWith(said)))
    warn(
      ctx,
      'client-certificate',
      `${said}: OpenAI now refuses the client certificate this run presented (${error.message}). It most likely chains to the CA this run retired: give the next runs a client certificate issued by the new CA.`,
    );
  return true;
}

/** Records where the certificate is active; when the scope has no active CA valid now, activates it again and says what was found. */
async function coverageProblem(
  read: { scope: Scope; listed: ListedCertificate[]; keeper: StoredCertificate },
  ctx: ApplyContext,
): Promise<string | undefined> {
  const { scope, listed, keeper } = read;
  const now = ctx.now().getTime() / 1000;
  const own = listed.find((c) => c.id === keeper.id);
  if (own?.active) ctx.journal.activeIn.add(scope);
  else ctx.journal.activeIn.delete(scope);
  const active = listed.filter((c) => c.active);
  const found = active.length ? active.map((c) => `${certificateLabel(c)} (${describeValidity(c)})`).join(', ') : 'no active certificate';
  if (!own?.active && active.some((c) => validNow(c, now))) {
    // A newer CA of the same name, active and valid, may have replaced it (a later rotation retired this one).
    if (active.some((c) => validNow(c, now) && c.name === keeper.name && isOlder(keeper, c) === true)) {
      ctx.log.notice(
        `${keeper.id} is no longer active for ${scopeLabel(scope)}: a newer CA of the same name replaced it there (${found}).`,
        'coverage',
      );
      return undefined;
    }
    // Activated again, but not claimed: only a read says where it is active.
    await activate(scope, keeper.id, ctx);
    return `${scopeLabel(scope)}: read back after the writes, it does not list ${keeper.id} active although the API accepted its activation (it lists ${found}). The action activated it again; nothing was retired there.`;
  }
  if (active.some((c) => validNow(c, now))) return undefined;
  let did = '';
  if (!own?.active) {
    await activate(scope, keeper.id, ctx);
    did = ` The action activated ${keeper.id} there again.`;
  }
  return `${scopeLabel(scope)}: read back, it lists ${found}.${did}`;
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
