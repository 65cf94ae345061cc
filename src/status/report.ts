import { MAX_CERTIFICATES } from '../limits.js';
import { ORGANIZATION, type Scope } from '../api/reader.js';
import { cell } from '../report/markdown.js';
import { isoSeconds } from '../time.js';
import { certificateLabel, duration, scopeLabel as scopeWords } from '../wording.js';
import type { Assessment, ScopeCoverage, WatchedCertificate } from './coverage.js';
import { NO_ISSUE, type IssueResult } from './issue.js';
import type { StatusSettings } from './settings.js';

/** The outputs that say the coverage: known before the tracking issue is touched, so written before it is. */
const COVERAGE_OUTPUT_NAMES = [
  'renewal-due',
  'certificate-id',
  'name',
  'expires-at',
  'expires-at-iso',
  'days-until-expiry',
  'certificates',
  'count',
] as const;
/** The outputs that say what became of the tracking issue: written once its call has ended, or been given up on. */
const ISSUE_OUTPUT_NAMES = ['issue-number', 'issue-action'] as const;
/** Every output of the status action: the coverage's, then the tracking issue's; each is written once per run. */
export const STATUS_OUTPUT_NAMES = [...COVERAGE_OUTPUT_NAMES, ...ISSUE_OUTPUT_NAMES] as const;

/**
 * The coverage outputs as strings; empty when unknown (no assessment, or no watched scope with a
 * coverage). renewal-due is empty too when no scope is due but some scope's coverage cannot be dated.
 */
export function coverageOutputs(assessment: Assessment | undefined): Record<(typeof COVERAGE_OUTPUT_NAMES)[number], string> {
  const shortest = assessment?.shortest?.coveredBy;
  const expiresAt = shortest?.expiresAt;
  const due = !assessment ? '' : assessment.renewalDue ? 'true' : assessment.unverified ? '' : 'false';
  return {
    'renewal-due': due,
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

/** The tracking issue's outputs: its number (empty when none, or not known) and what the run did with it. */
export function issueOutputs(issue: IssueResult): Record<(typeof ISSUE_OUTPUT_NAMES)[number], string> {
  return {
    'issue-number': issue.number === undefined ? '' : String(issue.number),
    'issue-action': issue.action,
  };
}

/** One line: due or not, and why. */
export function statusHeadline(assessment: Assessment, settings: Pick<StatusSettings, 'renewWithinDays' | 'failWithinDays'>): string {
  const shortest = assessment.shortest;
  const c = shortest?.coveredBy;
  const unknown = assessment.scopes.filter((s) => s.state === 'unknown').map((s) => scopeWords(s.scope));
  if (!assessment.renewalDue && unknown.length > 0) {
    return `❔ Coverage unknown: the API gives no expiry for the watched certificates active in ${unknown.join(', ')}, so whether renewal is due cannot be told.`;
  }
  if (!shortest || c?.expiresAt === undefined) {
    return '➖ Nothing watched: no watched certificate is active in any watched scope.';
  }
  const when = `${isoSeconds(c.expiresAt)} (${left(c.expiresAt, assessment.now)})`;
  const what = `${scopeWords(shortest.scope)}'s coverage, by ${certificateLabel(c)},`;
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

/** A scope's state in words, for the summary and the tracking issue. */
export const STATE: Record<ScopeCoverage['state'], string> = {
  none: '➖ no watched certificate active',
  unknown: '❔ expiry not given by the API',
  ok: '✅ covered',
  due: '🔔 renewal due',
  failing: '❌ failing',
};

const CANCELLED_ISSUE_SENTENCE =
  'Tracking issue: not confirmed, because the run was cancelled while updating it: it may or may not have been updated; the next scheduled run will reconcile it.';

/** The job summary: the headline, the watched certificates, the scopes with their coverage, the count. */
export function renderStatusSummary(
  assessment: Assessment | undefined,
  settings: Pick<StatusSettings, 'renewWithinDays' | 'failWithinDays' | 'name'> | undefined,
  failure: string | undefined,
  issue: IssueResult = NO_ISSUE,
): string {
  const lines = ['## OpenAI mTLS certificates: renewal status', ''];
  if (failure) lines.push(`❌ Failed: ${cell(failure)}`, '');
  if (!assessment || !settings) return lines.join('\n');
  lines.push(cell(statusHeadline(assessment, settings)), '');
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
        `| ${cell(c.name ?? '—')} | \`${c.id}\` | ${expiry(c, assessment.now)} | ${cell(c.active.map(scopeCell).join(', ') || '—')} |`,
      );
    }
    lines.push('');
  }

  lines.push('### Scopes', '', '| Scope | Active watched certificates | Covered until | State |', '|---|---|---|---|');
  for (const s of assessment.scopes) {
    const covered = s.coveredBy?.expiresAt === undefined ? '—' : expiry(s.coveredBy, assessment.now);
    lines.push(`| ${scopeCell(s.scope)} | ${cell(s.active.map((c) => c.id).join(', ') || 'none')} | ${covered} | ${STATE[s.state]} |`);
  }
  lines.push('', `The organization holds ${assessment.count} of the ${MAX_CERTIFICATES} certificates OpenAI allows.`, '');
  if (issue.action === 'cancelled') lines.push(CANCELLED_ISSUE_SENTENCE, '');
  else if (issue.number !== undefined) lines.push(`Tracking issue: #${issue.number} (${issue.action}).`, '');
  return lines.join('\n');
}

/** A scope in a Markdown table cell: `organization`, or the project id as code. */
function scopeCell(scope: Scope): string {
  return scope === ORGANIZATION ? 'organization' : `project \`${scope}\``;
}

function expiry(c: WatchedCertificate, now: Date): string {
  return c.expiresAt === undefined ? '—' : `${isoSeconds(c.expiresAt)} (${left(c.expiresAt, now)})`;
}

/** Time left, or since it ended, in the largest whole unit (minutes, hours or days, rounded down). */
function left(expiresAt: number, now: Date): string {
  const ms = expiresAt * 1000 - now.getTime();
  return ms > 0 ? `${duration(ms)} left` : `ended ${duration(ms)} ago`;
}
