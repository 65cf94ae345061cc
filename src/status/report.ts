import { ORGANIZATION, type Scope } from '../api/reader.js';
import { cell } from '../report/markdown.js';
import { daysUntil, isoSeconds } from '../time.js';
import type { Assessment, ScopeCoverage, WatchedCertificate } from './coverage.js';
import type { StatusSettings } from './settings.js';

/** OpenAI's cap on certificates per organization. */
const MAX_CERTIFICATES = 50;

export const STATUS_OUTPUT_NAMES = [
  'renewal-due',
  'certificate-id',
  'name',
  'expires-at',
  'expires-at-iso',
  'days-until-expiry',
  'certificates',
  'count',
] as const;
type StatusOutput = (typeof STATUS_OUTPUT_NAMES)[number];

/** Every output as a string; empty when unknown (no assessment, or no watched scope with a coverage). */
export function statusOutputs(assessment: Assessment | undefined): Record<StatusOutput, string> {
  const shortest = assessment?.shortest?.coveredBy;
  const expiresAt = shortest?.expiresAt;
  return {
    'renewal-due': assessment ? String(assessment.renewalDue) : '',
    'certificate-id': shortest?.id ?? '',
    name: shortest?.name ?? '',
    'expires-at': expiresAt === undefined ? '' : String(expiresAt),
    'expires-at-iso': expiresAt === undefined ? '' : isoSeconds(expiresAt),
    'days-until-expiry': shortest?.daysUntilExpiry === undefined ? '' : String(shortest.daysUntilExpiry),
    certificates: assessment
      ? JSON.stringify(
          assessment.certificates.map((c) => ({
            id: c.id,
            name: c.name,
            created_at: c.createdAt,
            valid_at: c.validAt ?? null,
            expires_at: c.expiresAt ?? null,
            days_until_expiry: c.daysUntilExpiry ?? null,
            active: c.active,
          })),
        )
      : '',
    count: assessment ? String(assessment.count) : '',
  };
}

export function describeScopeLabel(scope: Scope): string {
  return scope === ORGANIZATION ? 'the organization' : `project ${scope}`;
}

/** One line: due or not, and why. */
export function statusHeadline(assessment: Assessment, settings: Pick<StatusSettings, 'renewWithinDays' | 'failWithinDays'>): string {
  const shortest = assessment.shortest;
  const c = shortest?.coveredBy;
  if (!shortest || c?.expiresAt === undefined) {
    return '➖ No renewal due: no watched certificate is active in any watched scope, so there is nothing to renew.';
  }
  const when = `${isoSeconds(c.expiresAt)} (${left(c.expiresAt, assessment.now)})`;
  const what = `${describeScopeLabel(shortest.scope)}'s coverage, by ${c.id}${c.name ? ` ("${c.name}")` : ''},`;
  const others = (state: ScopeCoverage['state']): string => {
    const more = assessment.scopes.filter((s) => s.state === state).length - 1;
    return more > 0 ? ` ${more} more scope${more === 1 ? '' : 's'} too.` : '';
  };
  if (assessment.failing) {
    const ended = c.expiresAt * 1000 <= assessment.now.getTime();
    return `❌ Renewal overdue: ${what} ${ended ? 'ended on' : 'ends on'} ${when}, within fail-within-days (${settings.failWithinDays}).${others('failing')}`;
  }
  if (assessment.renewalDue) {
    return `🔔 Renewal due: ${what} ends on ${when}, within renew-within-days (${settings.renewWithinDays}).${others('due')}`;
  }
  return `✅ No renewal due: the shortest coverage, ${what} ends on ${when}, after renew-within-days (${settings.renewWithinDays}).`;
}

const STATE: Record<ScopeCoverage['state'], string> = {
  none: '➖ no watched certificate active',
  unknown: '❔ expiry not given by the API',
  ok: '✅ covered',
  due: '🔔 renewal due',
  failing: '❌ failing',
};

/** The job summary: the headline, the watched certificates, the scopes with their coverage, the count. */
export function renderStatusSummary(
  assessment: Assessment | undefined,
  settings: Pick<StatusSettings, 'renewWithinDays' | 'failWithinDays' | 'name'> | undefined,
  failure: string | undefined,
): string {
  const lines = ['## OpenAI mTLS certificates: renewal status', ''];
  if (failure) lines.push(`❌ Failed: ${failure}`, '');
  if (!assessment || !settings) return lines.join('\n');
  lines.push(statusHeadline(assessment, settings), '');
  lines.push(
    `Watching ${settings.name ? `certificates named "${cell(settings.name)}"` : 'every certificate'}; renewal is due within ${settings.renewWithinDays} days of the end of a scope's coverage, and the step fails within ${settings.failWithinDays}.`,
    '',
  );

  lines.push('### Certificates', '');
  if (assessment.certificates.length === 0) lines.push('No watched certificate in the organization.', '');
  else {
    lines.push('| Name | ID | Expires | Active in |', '|---|---|---|---|');
    for (const c of assessment.certificates) {
      lines.push(
        `| ${cell(c.name ?? '—')} | \`${c.id}\` | ${expiry(c, assessment.now)} | ${cell(c.active.map(scopeLabel).join(', ') || '—')} |`,
      );
    }
    lines.push('');
  }

  lines.push('### Scopes', '', '| Scope | Active watched certificates | Covered until | State |', '|---|---|---|---|');
  for (const s of assessment.scopes) {
    const covered = s.coveredBy?.expiresAt === undefined ? '—' : expiry(s.coveredBy, assessment.now);
    lines.push(`| ${scopeLabel(s.scope)} | ${cell(s.active.map((c) => c.id).join(', ') || 'none')} | ${covered} | ${STATE[s.state]} |`);
  }
  lines.push('', `The organization holds ${assessment.count} of the ${MAX_CERTIFICATES} certificates OpenAI allows.`, '');
  return lines.join('\n');
}

function scopeLabel(scope: Scope): string {
  return scope === ORGANIZATION ? 'organization' : `project \`${scope}\``;
}

function expiry(c: WatchedCertificate, now: Date): string {
  return c.expiresAt === undefined ? '—' : `${isoSeconds(c.expiresAt)} (${left(c.expiresAt, now)})`;
}

/** Whole days left, or whole days since it ended (both rounded down). */
function left(expiresAt: number, now: Date): string {
  const days = daysUntil(expiresAt, now);
  if (expiresAt * 1000 > now.getTime()) return `${days} day${days === 1 ? '' : 's'} left`;
  const ago = daysUntil(now.getTime() / 1000, new Date(expiresAt * 1000));
  return `ended ${ago} day${ago === 1 ? '' : 's'} ago`;
}
