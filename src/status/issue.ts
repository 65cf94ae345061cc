/**
 * The tracking issue (open-issue): one issue per watched name, opened when renewal is due, updated by
 * each later run while it stays due, and closed with a comment once coverage is healthy. It is found
 * again by its label and by a hidden marker in its body, never by its title. Anything that goes wrong
 * here is a warning: the status outputs and exit code do not depend on GitHub.
 */
import { STATE } from './report.js';
import { boundRequests, explainGitHubFailure } from '../report/github.js';
import type { Logger } from '../log.js';
import { cell } from '../report/markdown.js';
import { isoSeconds } from '../time.js';
import { certificateLabel, duration, scopeLabel } from '../wording.js';
import type { Assessment } from './coverage.js';
import type { StatusSettings } from './settings.js';

type IssueAction = 'opened' | 'updated' | 'closed' | 'none' | 'skipped' | 'failed' | 'cancelled';

export interface IssueResult {
  action: IssueAction;
  /** The tracking issue's number, when one was opened, updated or closed. */
  number: number | undefined;
}

export const NO_ISSUE: IssueResult = { action: 'none', number: undefined };

/** The run was cancelled while the issue was being written: whether GitHub applied the write is not known. */
export const CANCELLED_ISSUE: IssueResult = { action: 'cancelled', number: undefined };

export type IssueSettings = Pick<
  StatusSettings,
  'name' | 'renewWithinDays' | 'failWithinDays' | 'openIssue' | 'githubToken' | 'issueLabel' | 'renewalWorkflow' | 'timeoutMs'
>;

/** What the run found, as the issue sees it: renewal due, healthy, or not known (nothing is changed then). */
export type IssueNeed = 'due' | 'healthy' | 'unknown';

export function issueNeed(assessment: Assessment | undefined, failed: boolean): IssueNeed {
  if (!assessment) return 'unknown';
  if (assessment.renewalDue) return 'due';
  if (failed || assessment.unverified) return 'unknown';
  return 'healthy';
}

/** The hidden line that identifies the issue of one watched name; the name is URI-encoded, so no `-->`. */
export function issueMarker(name: string | undefined): string {
  return `<!-- openai-mtls-status name=${name === undefined ? '*' : encodeURIComponent(name)} -->`;
}

export function issueTitle(name: string | undefined): string {
  // A title is plain text, but one line: control characters would be dropped or break it.
  const what =
    name === undefined
      ? 'every watched certificate'
      : [...name].map((ch) => (ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127 ? ' ' : ch)).join('');
  return `OpenAI mTLS CA renewal due: ${what}`;
}

/** Where this run and the renewal workflow are, from the runner's variables; undefined when not known. */
export interface RunLinks {
  run: string | undefined;
  renewalWorkflow: string | undefined;
}

export function runLinks(settings: Pick<StatusSettings, 'renewalWorkflow'>, env: NodeJS.ProcessEnv = process.env): RunLinks {
  const server = env.GITHUB_SERVER_URL || 'https://github.com';
  const repo = env.GITHUB_REPOSITORY;
  return {
    run: repo && env.GITHUB_RUN_ID ? `${server}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
    renewalWorkflow: repo && settings.renewalWorkflow ? `${server}/${repo}/actions/workflows/${settings.renewalWorkflow}` : undefined,
  };
}

/** Time left until a date, or since it passed, in words: "in 19 days", "ended 2 hours ago". */
function timeLeft(expiresAt: number, now: Date): string {
  const ms = expiresAt * 1000 - now.getTime();
  return ms > 0 ? `in ${duration(ms)}` : `ended ${duration(ms)} ago`;
}

/** The issue's body: the marker, why, the coverage of every watched scope with its dates, what to do. */
export function renderIssueBody(assessment: Assessment, settings: IssueSettings, links: RunLinks): string {
  const watched = settings.name === undefined ? 'every certificate' : `certificates named "${cell(settings.name)}"`;
  const lines = [
    issueMarker(settings.name),
    assessment.failing ? '## ❌ OpenAI mTLS CA renewal overdue' : '## 🔔 OpenAI mTLS CA renewal due',
    '',
    `Watching ${watched}. Renewal is due when a scope's coverage (the latest expiry among the watched certificates active in it) ends within ${settings.renewWithinDays} days (renew-within-days); the status step fails within ${settings.failWithinDays} (fail-within-days).`,
    '',
    '| Scope | Covered by | Expires | Time left | State |',
    '|---|---|---|---|---|',
  ];
  for (const s of assessment.scopes) {
    const c = s.coveredBy;
    const dated = c?.expiresAt !== undefined;
    lines.push(
      `| ${cell(scopeLabel(s.scope))} | ${c ? cell(certificateLabel(c)) : '—'} | ${dated ? isoSeconds(c.expiresAt!) : '—'} | ${
        dated ? timeLeft(c.expiresAt!, assessment.now) : '—'
      } | ${STATE[s.state]} |`,
    );
  }
  const workflow = links.renewalWorkflow
    ? `Run the renewal workflow [\`${cell(settings.renewalWorkflow ?? '')}\`](${links.renewalWorkflow})`
    : 'Run your renewal workflow';
  lines.push(
    '',
    `**What to do**: ${workflow} to upload and activate the next CA, then retire the one that expires. Each status run updates this issue while renewal is due; the first run that finds every watched scope covered beyond renew-within-days closes it.`,
    '',
    `Last checked: ${isoSeconds(Math.floor(assessment.now.getTime() / 1000))}${links.run ? ` by [this run](${links.run})` : ''}.`,
    '',
  );
  return lines.join('\n');
}

/** The closing comment: the coverage that made it healthy. */
export function renderClosingComment(assessment: Assessment, settings: IssueSettings, links: RunLinks): string {
  const c = assessment.shortest?.coveredBy;
  const shortest =
    assessment.shortest && c?.expiresAt !== undefined
      ? ` The shortest coverage, ${cell(scopeLabel(assessment.shortest.scope))}'s by ${cell(certificateLabel(c))}, ends on ${isoSeconds(c.expiresAt)} (${timeLeft(c.expiresAt, assessment.now)}).`
      : '';
  return `✅ Coverage is healthy again: no watched scope's coverage ends within ${settings.renewWithinDays} days (renew-within-days).${shortest}${
    links.run ? ` Closed by [this run](${links.run}).` : ''
  }`;
}

/** A GitHub failure in words, by its kind (see report/github.ts), for the tracking issue. */
export function explainGitHubError(error: unknown, bound: { timeoutMs: number; timedOut: boolean; apiUrl: string }): string {
  return explainGitHubFailure(error, {
    ...bound,
    permission: 'issues: write',
    what: 'write issues',
    off: 'set open-issue: false',
  });
}

type RepoRef = { fork?: boolean; full_name?: string } | null | undefined;
type PullRequestPayload = { pull_request?: { head?: { repo?: RepoRef }; base?: { repo?: RepoRef } } };

/** A pull request from a fork: its token is read-only, so nothing is tried. */
export function fromFork(eventName: string, payload: unknown): boolean {
  if (eventName !== 'pull_request') return false;
  const pr = (payload as PullRequestPayload | undefined)?.pull_request;
  const head = pr?.head?.repo;
  const base = pr?.base?.repo;
  return head?.fork === true || (head?.full_name !== undefined && base?.full_name !== undefined && head.full_name !== base.full_name);
}

/**
 * Opens, updates or closes the tracking issue as `need` says. Octokit is loaded only here, so runs
 * without open-issue never pay for it. Every request is bounded by timeout-seconds. Never throws.
 */
export async function trackIssue(
  assessment: Assessment | undefined,
  need: IssueNeed,
  settings: IssueSettings,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<IssueResult> {
  if (!settings.openIssue) return NO_ISSUE;
  if (!assessment || need === 'unknown') {
    log.info('open-issue: the coverage could not be told in this run, so the tracking issue is left as it is.');
    return NO_ISSUE;
  }
  let github: typeof import('@actions/github');
  try {
    github = await import('@actions/github');
  } catch (error) {
    log.warning(
      `open-issue: could not load the GitHub client: ${(error as Error).message}. The status outputs are unaffected.`,
      'open-issue',
    );
    return { action: 'failed', number: undefined };
  }
  const { context, getOctokit } = github;
  if (fromFork(context.eventName, context.payload)) {
    log.warning(
      'open-issue: this is a pull request from a fork, whose token is read-only; the tracking issue is left as it is. The status outputs are unaffected.',
      'open-issue',
    );
    return { action: 'skipped', number: undefined };
  }
  const apiUrl = env.GITHUB_API_URL || 'https://api.github.com';
  let owner: string;
  let repo: string;
  try {
    ({ owner, repo } = context.repo);
  } catch {
    log.warning('open-issue: GITHUB_REPOSITORY is not set, so there is no repository to track the renewal in.', 'open-issue');
    return { action: 'skipped', number: undefined };
  }
  const marker = issueMarker(settings.name);
  const links = runLinks(settings, env);
  let number: number | undefined;
  let timedOut = () => false;
  try {
    const octokit = getOctokit(settings.githubToken);
    timedOut = boundRequests(octokit, settings.timeoutMs);
    const open = await octokit.paginate(octokit.rest.issues.listForRepo, {
      owner,
      repo,
      state: 'open',
      labels: settings.issueLabel,
      per_page: 100,
    });
    const mine = open.find((issue) => !issue.pull_request && (issue.body ?? '').includes(marker));
    number = mine?.number;
    if (need === 'due') {
      const body = renderIssueBody(assessment, settings, links);
      const title = issueTitle(settings.name);
      if (mine) {
        await octokit.rest.issues.update({ owner, repo, issue_number: mine.number, title, body });
        log.info(`open-issue: updated the tracking issue #${mine.number}.`);
        return { action: 'updated', number: mine.number };
      }
      const created = await octokit.rest.issues.create({ owner, repo, title, body, labels: [settings.issueLabel] });
      number = created.data.number;
      log.info(`open-issue: opened the tracking issue #${created.data.number}.`);
      return { action: 'opened', number: created.data.number };
    }
    if (!mine) return NO_ISSUE;
    await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: mine.number,
      body: renderClosingComment(assessment, settings, links),
    });
    await octokit.rest.issues.update({ owner, repo, issue_number: mine.number, state: 'closed', state_reason: 'completed' });
    log.info(`open-issue: coverage is healthy; closed the tracking issue #${mine.number} with a comment.`);
    return { action: 'closed', number: mine.number };
  } catch (error) {
    log.warning(
      `open-issue: could not ${need === 'due' ? 'open or update' : 'close'} the tracking issue${number ? ` #${number}` : ''}: ${explainGitHubError(error, { timeoutMs: settings.timeoutMs, timedOut: timedOut(), apiUrl })} The status outputs and the exit code are unaffected.`,
      'open-issue',
    );
    return { action: 'failed', number };
  }
}
