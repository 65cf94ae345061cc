/**
 * When to renew, decided from what the organization's lists say and nothing else. A scope's coverage is
 * the latest expiry among the watched certificates active in it: mid-rotation, the new CA covers for the
 * old one. Renewal is due when a scope's coverage ends within renew-within-days; the step fails when it
 * ends within fail-within-days or has ended. Scopes with no active watched certificate are listed, but
 * are neither due nor failing. A date the list does not give (missing, `null`, not a number) is unknown:
 * never read as 0 (1970), and a scope whose active certificates are all undated has an unknown coverage.
 */
import { ORGANIZATION, type ListedCertificate, type Scope } from '../api/reader.js';
import { DAY_MS, daysUntil } from '../time.js';

/** A watched certificate of the organization, with the watched scopes where it is active. */
export interface WatchedCertificate {
  id: string;
  name: string | null;
  createdAt: number;
  /** Unix seconds; undefined when the list gives no usable date. */
  validAt: number | undefined;
  /** Unix seconds; undefined when the list gives no usable date. */
  expiresAt: number | undefined;
  daysUntilExpiry: number | undefined;
  active: Scope[];
}

type ScopeState = 'none' | 'unknown' | 'ok' | 'due' | 'failing';

export interface ScopeCoverage {
  scope: Scope;
  /** Watched certificates active in the scope. */
  active: WatchedCertificate[];
  /**
   * The dated active certificate that expires last, whose expiry is the scope's coverage. When undated
   * certificates are active beside it, the coverage is at least this long (so the state errs towards due).
   */
  coveredBy: WatchedCertificate | undefined;
  /**
   * `none`: no watched certificate active; `unknown`: active ones, but the list gives no usable expiry
   * for any of them; `ok`, `due`, `failing`: the coverage ends after renew-within-days, within it, within
   * fail-within-days (or has ended).
   */
  state: ScopeState;
}

export interface Assessment {
  /** Every watched certificate of the organization, oldest first. */
  certificates: WatchedCertificate[];
  /** The organization first, then the watched projects in the order given. */
  scopes: ScopeCoverage[];
  /** The scope whose coverage ends first, among those with a coverage. */
  shortest: ScopeCoverage | undefined;
  /** Some scope is `due` or `failing`. */
  renewalDue: boolean;
  /** Some scope is `failing`. */
  failing: boolean;
  /** Some scope's coverage cannot be dated (`unknown`): the watchdog cannot tell whether all is well. */
  unverified: boolean;
  /** How many certificates the organization holds in all, watched or not (the cap is 50). */
  count: number;
  /** When it was assessed. */
  now: Date;
}

export interface AssessOptions {
  /** Only certificates with this name are watched; undefined watches all. */
  name: string | undefined;
  renewWithinDays: number;
  failWithinDays: number;
  now: Date;
}

/** A date as the list gives it: a finite number of unix seconds, else unknown (undefined). */
function knownDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * `organization`: the organization's list; `projects`: each watched project's, as the API gave them.
 * Pure: `now` is the only clock it reads.
 */
export function assess(
  organization: ListedCertificate[],
  projects: Array<[Scope, ListedCertificate[]]>,
  options: AssessOptions,
): Assessment {
  const watched = (c: ListedCertificate): boolean => options.name === undefined || c.name === options.name;
  const lists: Array<[Scope, ListedCertificate[]]> = [[ORGANIZATION, organization], ...projects];
  const certificates: WatchedCertificate[] = organization.filter(watched).map((c) => {
    const expiresAt = knownDate(c.expiresAt);
    return {
      id: c.id,
      name: c.name,
      createdAt: c.createdAt,
      validAt: knownDate(c.validAt),
      expiresAt,
      daysUntilExpiry: expiresAt === undefined ? undefined : daysUntil(expiresAt, options.now),
      active: lists.filter(([, list]) => list.some((l) => l.id === c.id && l.active)).map(([scope]) => scope),
    };
  });

  const nowSeconds = options.now.getTime() / 1000;
  const within = (days: number, expiresAt: number): boolean => expiresAt <= nowSeconds + (days * DAY_MS) / 1000;
  const scopes = lists.map(([scope]): ScopeCoverage => {
    const active = certificates.filter((c) => c.active.includes(scope));
    const coveredBy = active
      .filter((c) => c.expiresAt !== undefined)
      .reduce<WatchedCertificate | undefined>((latest, c) => (latest && latest.expiresAt! >= c.expiresAt! ? latest : c), undefined);
    let state: ScopeState;
    if (active.length === 0) state = 'none';
    else if (coveredBy?.expiresAt === undefined) state = 'unknown';
    else if (within(options.failWithinDays, coveredBy.expiresAt)) state = 'failing';
    else if (within(options.renewWithinDays, coveredBy.expiresAt)) state = 'due';
    else state = 'ok';
    return { scope, active, coveredBy, state };
  });

  const covered = scopes.filter((s) => s.coveredBy?.expiresAt !== undefined);
  const shortest = covered.reduce<ScopeCoverage | undefined>(
    (first, s) => (first && first.coveredBy!.expiresAt! <= s.coveredBy!.expiresAt! ? first : s),
    undefined,
  );
  return {
    certificates,
    scopes,
    shortest,
    renewalDue: scopes.some((s) => s.state === 'due' || s.state === 'failing'),
    failing: scopes.some((s) => s.state === 'failing'),
    unverified: scopes.some((s) => s.state === 'unknown'),
    count: organization.length,
    now: options.now,
  };
}
