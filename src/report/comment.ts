import * as core from '@actions/core';
import { actionsLogger } from '../log.js';

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
 */
export async function commentOnPullRequest(
  body: string,
  token: string,
  timeoutMs = 60_000,
): Promise<'created' | 'updated' | 'skipped' | 'failed'> {
  const { context, getOctokit } = await import('@actions/github');
  if (!PULL_REQUEST_EVENTS.has(context.eventName)) {
    core.info(`comment-on-pr: the event is ${context.eventName || 'unknown'}, not a pull request; no comment.`);
    return 'skipped';
  }
  const number = context.payload.pull_request?.number;
  if (!number) {
    core.warning('comment-on-pr: the event payload names no pull request; no comment was written.');
    return 'skipped';
  }
  const marker = commentMarker();
  const text = `${marker}\n${body}`;
  const { owner, repo } = context.repo;
  // Every request of the comment together is bounded by timeout-seconds: a GitHub API that accepts the
  // connection and never answers must not hold the job. Set in a hook, as octokit.paginate drops a
  // per-call `request` option, and added to the request options, so the proxy settings stay.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const octokit = getOctokit(token);
    octokit.hook.before('request', (options) => {
      options.request = { ...options.request, signal };
    });
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100 });
    const mine = comments.find((c) => c.body?.includes(marker));
    if (mine) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text });
      core.info(`Updated the comment on pull request #${number}.`);
      return 'updated';
    }
    await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body: text });
    core.info(`Commented on pull request #${number}.`);
    return 'created';
  } catch (error) {
    if (signal.aborted) {
      actionsLogger.warning(
        `Could not comment on pull request #${number}: the GitHub API (${process.env.GITHUB_API_URL ?? 'https://api.github.com'}) did not answer within ${timeoutMs / 1000} s (timeout-seconds). The run itself is unaffected; the job summary holds the same report.`,
      );
      return 'failed';
    }
    const status = (error as { status?: number }).status;
    core.warning(
      `Could not comment on pull request #${number}${status ? ` (HTTP ${status})` : ''}: ${(error as Error).message}. ` +
        'The run itself is unaffected. Give the job `permissions: pull-requests: write`; on pull requests from forks the token is read-only, so no comment is possible there.',
    );
    return 'failed';
  }
}
