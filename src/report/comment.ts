import { actionsLogger, type Logger } from '../log.js';
import { redact } from '../text.js';
import { boundRequests, explainGitHubFailure } from './github.js';

/** Finds the action's own comment again; one per job and step, so two uses in a workflow do not fight. */
export function commentMarker(env: NodeJS.ProcessEnv = process.env): string {
  const where = [env.GITHUB_JOB, env.GITHUB_ACTION].filter(Boolean).join('/');
  return `<!-- openai-mtls-certificate-action${where ? ` ${where.replace(/--/g, '-')}` : ''} -->`;
}

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);

/**
 * Creates or updates the action's comment on the pull request that triggered the run. Octokit is
 * loaded only here, so runs that do not comment never pay for it. Failing to comment (a fork's
 * read-only token, for example) is a warning, never a failure.
 *
 * The whole body is redacted before it is posted: nothing masks a comment, which everyone who can read
 * the pull request reads (on a public repository, everyone). Escaping outside text is not done here but
 * where the Markdown is made (through `cell`); this is the last line of defence for secrets only.
 */
export async function commentOnPullRequest(
  body: string,
  github: { token: string; timeoutMs: number },
  log: Logger = actionsLogger,
): Promise<'created' | 'updated' | 'skipped' | 'failed'> {
  const { context, getOctokit } = await import('@actions/github');
  if (!PULL_REQUEST_EVENTS.has(context.eventName)) {
    log.info(`comment-on-pr: the event is ${context.eventName || 'unknown'}, not a pull request; no comment.`);
    return 'skipped';
  }
  const number = context.payload.pull_request?.number;
  if (!number) {
    log.warning('comment-on-pr: the event payload names no pull request; no comment was written.');
    return 'skipped';
  }
  const marker = commentMarker();
  const text = `${marker}\n${redact(body)}`;
  const { owner, repo } = context.repo;
  let timedOut = () => false;
  try {
    const octokit = getOctokit(github.token);
    timedOut = boundRequests(octokit, github.timeoutMs);
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100 });
    const mine = comments.find((c) => c.body?.includes(marker));
    if (mine) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text });
      log.info(`Updated the comment on pull request #${number}.`);
      return 'updated';
    }
    await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body: text });
    log.info(`Commented on pull request #${number}.`);
    return 'created';
  } catch (error) {
    const why = explainGitHubFailure(error, {
      timeoutMs: github.timeoutMs,
      timedOut: timedOut(),
      apiUrl: process.env.GITHUB_API_URL || 'https://api.github.com',
      permission: 'pull-requests: write',
      what: 'comment on pull requests',
      off: 'set comment-on-pr: false',
    });
    log.warning(`Could not comment on pull request #${number}: ${why} The run itself is unaffected.`, 'comment-on-pr');
    return 'failed';
  }
}
