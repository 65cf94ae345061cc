/**
 * The decisions of a rotation, as pure functions of what was read: no I/O, no clock of their own. `decide`
 * turns the observed state into a plan; the same rules decide again, on a fresh read, right before anything
 * is deactivated or deleted (apply.ts), so that no irreversible step rests on a stale plan.
 *
 * The rules:
 * - The certificate the run goes on with (the target) is never deactivated or deleted.
 * - A certificate is deleted only when its expiry is known and passed, and it is inactive in the
 *   organization and in every project that was read. An unknown date is never the basis of a deletion.
 * - `retire-previous` deactivates, in a scope, only certificates of the same name that are OLDER than the
 *   target (an earlier `valid_at`; equal → earlier `created_at`, then the smaller id), only where the target
 *   is active and valid now. A run never deactivates a CA newer than its own, so overlapping rotations end
 *   with the newest CA active (sometimes with the older one too, never with none).
 * - Of identical copies (the same fingerprint), every run keeps the oldest by `created_at`, then by id: never
 *   by list order.
 */
import type { CertificateRecord, ListedCertificate, Scope, StoredCertificate } from '../api/reader.js';
import { ORGANIZATION } from '../api/reader.js';
import type { Advisory } from '../advisory.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import { MAX_CERTIFICATES } from '../limits.js';
import { DAY_MS, isoSeconds, seconds } from '../time.js';
import { certificateLabel, scopeLabel } from '../wording.js';

/** What a rotation asks for: the settings the decisions read. */
export interface Request {
  name: string | undefined;
  reuseExisting: boolean;
  retirePrevious: boolean;
  deleteExpired: boolean;
  activateOrganization: boolean;
  activateProjects: string[];
  /**
   * Staged rollout: the canary project, which activateProjects also lists (rotation/canary.ts withCanary).
   * The plan puts its scope first; the staged flow activates and proves it before the others.
   */
  canaryProject?: string | undefined;
}

/** Everything read before deciding. */
export interface State {
  /** The certificate, decoded locally. */
  certificate: CertificateInfo;
  /** The organization's certificates, with their organization-level `active`. */
  organization: ListedCertificate[];
  /** The projects read (the requested ones, and every project when deletions need it), each with its list. */
  projects: Array<[Scope, ListedCertificate[]]>;
  /** Every project of the organization was read (so "inactive everywhere" is known, not assumed). */
  allProjectsRead: boolean;
  /** Copies of the certificate in the organization (compared by content), as stored. */
  identical: StoredCertificate[];
  /** The certificate named by certificate-id, when that is the source. */
  existing: StoredCertificate | undefined;
}

/** What happens to the certificate itself. */
export type { Advisory };

export type Target =
  { kind: 'upload' } | { kind: 'reuse'; certificate: StoredCertificate } | { kind: 'existing'; certificate: StoredCertificate };

export interface ScopePlan {
  scope: Scope;
  /** Certificates active in the scope when it was read. */
  activeBefore: ListedCertificate[];
  /** The target must be activated here (it is not active yet). */
  activate: boolean;
  /** Older certificates of the same name, active here, to deactivate once the target is active and valid. */
  retire: ListedCertificate[];
  /** Other certificates left active here (another name, none, newer, or undated): named in a notice. */
  leftActive: ListedCertificate[];
}

export interface Plan {
  target: Target;
  /** Staged rollout: the canary project, whose scope comes first in `scopes`. */
  canaryProject?: string | undefined;
  /** The name retire-previous matches, when it is on. */
  retireName: string | undefined;
  scopes: ScopePlan[];
  /** Expired, inactive certificates deleted before the upload, to make room under the cap. */
  deleteFirst: ListedCertificate[];
  /** Expired, inactive certificates deleted at the end (read again first). */
  deleteAfter: ListedCertificate[];
  /** Identical copies other than the one kept, inactive everywhere read: deleted at the end (read again first). */
  duplicates: StoredCertificate[];
  /** The ids of every identical copy of the certificate in the organization: never retired. */
  copies: string[];
  /** The ids the organization held when it was read: only certificates created since can be a racing run's copy. */
  before: string[];
  /** Why nothing will be retired although retire-previous is on, when that is so. */
  retireHeld: string | undefined;
  /** Warnings and notices the plan gives (coverage that shrinks, a CA not valid yet, unknown dates). */
  advisories: Advisory[];
}

/** The certificate's own validity as the API records it (unix seconds). */
export function localRecord(certificate: CertificateInfo): Pick<CertificateRecord, 'validAt' | 'expiresAt'> {
  return { validAt: seconds(certificate.notBefore), expiresAt: seconds(certificate.notAfter) };
}

/** Identical copies, oldest first: by `created_at`, then by id. Never by list order. */
export function oldestFirst<T extends Pick<CertificateRecord, 'id' | 'createdAt'>>(copies: readonly T[]): T[] {
  return [...copies].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Whether `candidate` was issued before `target`: an earlier `valid_at`; equal → an earlier `created_at`,
 * then the smaller id. Unknown (`null`) when either `valid_at` is unknown.
 */
export function isOlder(candidate: CertificateRecord, target: CertificateRecord): boolean | null {
  if (candidate.validAt === null || target.validAt === null) return null;
  if (candidate.validAt !== target.validAt) return candidate.validAt < target.validAt;
  if (candidate.createdAt !== target.createdAt) return candidate.createdAt < target.createdAt;
  return candidate.id < target.id;
}

/** Valid at `now` (unix seconds) by both dates; unknown dates are not valid. */
export function validNow(record: Pick<CertificateRecord, 'validAt' | 'expiresAt'>, now: number): boolean {
  return record.validAt !== null && record.expiresAt !== null && record.validAt <= now && now < record.expiresAt;
}

/** Why the target may not retire anything yet, or undefined when it may. */
function retirementHeld(target: Pick<CertificateRecord, 'validAt' | 'expiresAt'>, now: Date): string | undefined {
  const t = now.getTime() / 1000;
  if (target.validAt === null || target.expiresAt === null) return 'the validity dates of the new certificate are not known';
  if (target.validAt > t) return `the new certificate is not valid until ${isoSeconds(target.validAt)}`;
  if (target.expiresAt <= t) return `the new certificate expired on ${isoSeconds(target.expiresAt)}`;
  return undefined;
}

/**
 * In one scope's list: which active certificates the target retires, and which it leaves active. Retired:
 * active, not the target nor a copy of it, named `name`, and older than the target. Nothing is retired
 * while the target is not valid now.
 */
export function retirementsIn(
  listed: readonly ListedCertificate[],
  target: CertificateRecord,
  rule: { name: string | undefined; copies: ReadonlySet<string>; now: Date },
): { retire: ListedCertificate[]; leftActive: ListedCertificate[] } {
  const others = listed.filter((c) => c.active && c.id !== target.id && !rule.copies.has(c.id));
  if (rule.name === undefined || retirementHeld(target, rule.now) !== undefined) return { retire: [], leftActive: others };
  const retire = others.filter((c) => c.name === rule.name && isOlder(c, target) === true);
  return { retire, leftActive: others.filter((c) => !retire.includes(c)) };
}

/**
 * Expired certificates that may be deleted: the expiry known and passed, inactive in the organization and in
 * every project read, and neither the target nor a copy of it.
 */
export function deletable(state: Pick<State, 'organization' | 'projects'>, keep: ReadonlySet<string>, now: Date): ListedCertificate[] {
  const activeSomewhere = new Set(state.projects.flatMap(([, list]) => list.filter((c) => c.active).map((c) => c.id)));
  const t = now.getTime() / 1000;
  return state.organization.filter(
    (c) => !keep.has(c.id) && !c.active && !activeSomewhere.has(c.id) && c.expiresAt !== null && c.expiresAt <= t,
  );
}

/** A notice for each expired certificate delete-expired keeps because it is still active somewhere read. */
function expiredInUse(state: Pick<State, 'organization' | 'projects'>, keep: ReadonlySet<string>, now: Date): Advisory[] {
  const t = now.getTime() / 1000;
  return state.organization
    .filter((c) => !keep.has(c.id) && c.expiresAt !== null && c.expiresAt <= t)
    .map((c) => ({ c, where: activeScopes(state, c.id) }))
    .filter(({ where }) => where.length > 0)
    .map(({ c, where }) => ({
      level: 'notice' as const,
      title: 'delete-expired',
      message: `Kept ${certificateLabel(c)}: it has expired, but it is still active for ${where.map(scopeLabel).join(', ')}. Deactivate it there to let it be deleted.`,
    }));
}

/** The scopes read where a certificate is active. */
function activeScopes(state: Pick<State, 'organization' | 'projects'>, id: string): Scope[] {
  return [
    ...(state.organization.some((c) => c.id === id && c.active) ? [ORGANIZATION] : []),
    ...state.projects.filter(([, list]) => list.some((c) => c.id === id && c.active)).map(([scope]) => scope),
  ];
}

/** Active anywhere that was read. */
function activeAnywhere(state: Pick<State, 'organization' | 'projects'>, id: string): boolean {
  return (
    state.organization.some((c) => c.id === id && c.active) || state.projects.some(([, list]) => list.some((c) => c.id === id && c.active))
  );
}

/** The plan: pure, from the state, the request and the clock the time decisions use. */
export function decide(state: State, request: Request, now: Date): Plan {
  const copies = oldestFirst(state.identical);
  let target: Target;
  if (state.existing) target = { kind: 'existing', certificate: state.existing };
  else if (request.reuseExisting && copies[0]) target = { kind: 'reuse', certificate: copies[0] };
  else target = { kind: 'upload' };

  const advisories: Advisory[] = [];
  // Before an upload the target's record is the certificate's own dates, newest of all (created last).
  const record: CertificateRecord =
    target.kind === 'upload'
      ? { id: '(to be uploaded)', name: request.name ?? null, createdAt: Number.MAX_SAFE_INTEGER, ...localRecord(state.certificate) }
      : target.certificate;
  const retireName = request.retirePrevious
    ? (request.name ?? (target.kind === 'upload' ? undefined : (target.certificate.name ?? undefined)))
    : undefined;
  if (request.retirePrevious && !retireName) {
    throw new ActionError(`retire-previous is on, but certificate ${record.id} has no name to match.`, {
      title: 'input retire-previous',
      hint: 'Set name: the action retires only active certificates with that name.',
    });
  }
  const copyIds = new Set(state.identical.map((c) => c.id));
  const scopeLists: Array<[Scope, ListedCertificate[]]> = [];
  const projectList = (project: string): [Scope, ListedCertificate[]] => [project, state.projects.find(([p]) => p === project)?.[1] ?? []];
  // A canary project is a scope like the others, planned first: the staged flow activates it before any other.
  const canary = request.canaryProject;
  if (canary !== undefined) scopeLists.push(projectList(canary));
  if (request.activateOrganization) scopeLists.push([ORGANIZATION, state.organization]);
  for (const project of request.activateProjects) if (project !== canary) scopeLists.push(projectList(project));

  const retireHeld = retireName === undefined ? undefined : retirementHeld(record, now);
  if (retireHeld) {
    advisories.push({
      level: 'warning',
      title: 'retire-previous',
      message: `Nothing will be retired: ${retireHeld}. The certificate is activated beside the one in use; a later run retires the previous one once the new one is valid.`,
    });
  }
  const scopes = scopeLists.map(([scope, listed]): ScopePlan => {
    const activeBefore = listed.filter((c) => c.active);
    const { retire, leftActive } = retirementsIn(listed, record, { name: retireName, copies: copyIds, now });
    if (retireName !== undefined) advisories.push(...scopeAdvisories(scope, record, { retire, leftActive, name: retireName }));
    return { scope, activeBefore, activate: !activeBefore.some((c) => c.id === record.id), retire, leftActive };
  });

  const keep = new Set([record.id, ...copyIds]);
  const expired = request.deleteExpired ? deletable(state, keep, now) : [];
  let deleteFirst: ListedCertificate[] = [];
  if (target.kind === 'upload' && state.organization.length >= MAX_CERTIFICATES) {
    if (state.organization.length - expired.length >= MAX_CERTIFICATES)
      throw fullOrganization(state.organization.length, request.deleteExpired, expired.length);
    deleteFirst = expired;
  }
  const duplicates =
    request.reuseExisting && target.kind !== 'upload' ? copies.filter((c) => c.id !== record.id && !activeAnywhere(state, c.id)) : [];
  if (request.deleteExpired) advisories.push(...expiredInUse(state, keep, now));
  if (!state.allProjectsRead && request.deleteExpired && expired.length > 0) {
    advisories.push({
      level: 'notice',
      title: 'delete-expired',
      message: `Not every project could be read: a certificate still active in a project that was not read is kept (OpenAI refuses to delete it).`,
    });
  }
  return {
    target,
    ...(canary === undefined ? {} : { canaryProject: canary }),
    retireName,
    scopes,
    deleteFirst,
    deleteAfter: expired.filter((c) => !deleteFirst.includes(c)),
    duplicates,
    copies: [...copyIds],
    before: state.organization.map((c) => c.id),
    retireHeld,
    advisories,
  };
}

/** What retiring in one scope costs or leaves behind, in words. */
export function scopeAdvisories(
  scope: Scope,
  target: CertificateRecord,
  outcome: { retire: readonly ListedCertificate[]; leftActive: readonly ListedCertificate[]; name: string },
): Advisory[] {
  const advisories: Advisory[] = [];
  for (const old of outcome.retire) {
    if (old.expiresAt !== null && target.expiresAt !== null && old.expiresAt > target.expiresAt) {
      const lost = Math.floor(((old.expiresAt - target.expiresAt) * 1000) / DAY_MS);
      advisories.push({
        level: 'warning',
        title: 'coverage',
        message: `Retiring ${certificateLabel(old)} in ${scopeLabel(scope)} shortens its coverage: it is valid until ${isoSeconds(old.expiresAt)}, the new certificate only until ${isoSeconds(target.expiresAt)} (${lost} day${lost === 1 ? '' : 's'} fewer).`,
      });
    }
  }
  const undated = outcome.leftActive.filter((c) => c.name === outcome.name && isOlder(c, target) === null);
  const newer = outcome.leftActive.filter((c) => c.name === outcome.name && isOlder(c, target) === false);
  const otherName = outcome.leftActive.filter((c) => c.name !== outcome.name);
  const named = (list: readonly ListedCertificate[]): string => list.map(certificateLabel).join(', ');
  if (undated.length)
    advisories.push({
      level: 'notice',
      title: 'retire-previous',
      message: `Kept ${named(undated)} active in ${scopeLabel(scope)}: the API gives no valid_at for it, so it cannot be told older than the new certificate.`,
    });
  if (newer.length)
    advisories.push({
      level: 'notice',
      title: 'retire-previous',
      message: `Kept ${named(newer)} active in ${scopeLabel(scope)}: it is newer than this run's certificate, and a run never retires a newer CA.`,
    });
  if (otherName.length)
    advisories.push({
      level: 'notice',
      title: 'retire-previous',
      message: `Left active in ${scopeLabel(scope)}: ${named(otherName)} (another name than "${outcome.name}", so retire-previous does not touch it).`,
    });
  return advisories;
}

function fullOrganization(count: number, deleteExpired: boolean, expired: number): ActionError {
  return new ActionError(
    `The organization already holds ${count} certificates, the most OpenAI allows (${MAX_CERTIFICATES}); nothing was uploaded.`,
    {
      title: 'certificate limit',
      hint: deleteExpired
        ? `Only ${expired} of them are expired and inactive, which is not enough to make room: delete certificates that are no longer used (deactivate them everywhere first).`
        : 'Delete certificates that are no longer used, or set delete-expired: true to delete expired, inactive ones first.',
    },
  );
}

/**
 * After an upload (answered, lost or unreadable): of the identical copies created since the plan, the one
 * every run keeps (the oldest), and the copies this run deletes (every other one that is active nowhere read).
 * `own`: the id that came back to this run, if one did.
 */
export function converge(
  fresh: readonly StoredCertificate[],
  state: Pick<State, 'organization' | 'projects'>,
): { keeper: StoredCertificate | undefined; remove: StoredCertificate[] } {
  const [keeper, ...rest] = oldestFirst(fresh);
  return { keeper, remove: rest.filter((c) => !activeAnywhere(state, c.id)) };
}
