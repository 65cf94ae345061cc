/**
 * A watchdog that watches nothing must not look healthy. A `name` with a typo, or projects where the CA
 * is not active, would otherwise report "no renewal due" forever; this turns that into a failure that
 * says what was looked for, where, and the closest names that were found.
 */
import type { ListedCertificate, Scope } from '../api/reader.js';
import { ActionError } from '../errors.js';
import { scopeLabel } from '../wording.js';
import type { Assessment } from './coverage.js';

/** Edit distance between two strings: insertions, deletions and substitutions, each counting 1. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The `count` names nearest to `target` by edit distance, ignoring case; ties in alphabetical order.
 * Each name once.
 */
export function closestNames(target: string, names: Iterable<string | null>, count = 3): string[] {
  const unique = [...new Set([...names].filter((n): n is string => typeof n === 'string' && n !== ''))];
  const lower = target.toLowerCase();
  return unique
    .map((name) => ({ name, distance: editDistance(lower, name.toLowerCase()) }))
    .sort((x, y) => x.distance - y.distance || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    .slice(0, count)
    .map((x) => x.name);
}

const quoted = (names: string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * The failure to report when nothing is watched, else undefined: no certificate of the organization has
 * the watched `name`, or none of the watched certificates is active in any watched scope.
 */
export function watchingNothing(
  organization: ListedCertificate[],
  projects: Array<[Scope, ListedCertificate[]]>,
  assessment: Assessment,
  name: string | undefined,
): ActionError | undefined {
  if (assessment.scopes.some((s) => s.state !== 'none')) return undefined;
  const where = assessment.scopes.map((s) => scopeLabel(s.scope)).join(', ');
  const total = `${organization.length} certificate${organization.length === 1 ? '' : 's'}`;

  if (name !== undefined && assessment.certificates.length === 0) {
    const nearest = closestNames(
      name,
      organization.map((c) => c.name),
    );
    return new ActionError(
      `No certificate named "${name}" in the organization, which holds ${total}${
        nearest.length ? `; the closest names: ${quoted(nearest)}` : ', none of them named'
      }. The status action would watch nothing and report no renewal due forever.`,
      {
        title: 'input name',
        hint: 'Set name to the exact name of the CA to watch (names are case-sensitive), or leave it empty to watch every certificate.',
      },
    );
  }

  const what = name === undefined ? 'No certificate' : `No certificate named "${name}"`;
  const held =
    name === undefined
      ? `The organization holds ${total}`
      : `The organization holds ${assessment.certificates.length} named so (of ${total})`;
  const activeThere = new Set(
    [organization, ...projects.map(([, list]) => list)].flatMap((list) => list.filter((c) => c.active).map((c) => c.id)),
  );
  const activeNames = organization.filter((c) => activeThere.has(c.id)).map((c) => c.name);
  const nearest = name === undefined ? [] : closestNames(name, activeNames);
  return new ActionError(
    `${what} is active in the watched scopes (${where}). ${held}, none of them active there${
      nearest.length ? `; names active there: ${quoted(nearest)}` : ''
    }. The status action would watch nothing and report no renewal due forever.`,
    {
      title: 'watching nothing',
      hint: 'Add to projects the projects where the CA is active (or projects: all), check name, or activate the CA first with the main action.',
    },
  );
}
