/** GitHub calls, shared by the pull-request comment and the status action's tracking issue. */
import type { getOctokit as GetOctokit } from '@actions/github';

/**
 * Bounds every request of an Octokit client (each page too) by `timeoutMs`. A `before` hook, because a `wrap`
 * hook's new options would not reach the request past the token's own wrap; the rest of `request` (the
 * proxy-aware fetch of @actions/github) is kept. Returns whether one of those time limits has run out: the
 * failure is then a timeout, whatever error Octokit wraps it in.
 */
export function boundRequests(octokit: ReturnType<typeof GetOctokit>, timeoutMs: number): () => boolean {
  const signals: AbortSignal[] = [];
  octokit.hook.before('request', (options) => {
    const signal = AbortSignal.timeout(timeoutMs);
    signals.push(signal);
    options.request = { ...options.request, signal };
  });
  return () => signals.some((signal) => signal.aborted);
}

/** What a GitHub failure message needs to know about the call. */
export interface GitHubCall {
  timeoutMs: number;
  /** A request's time limit ran out (from boundRequests). */
  timedOut: boolean;
  apiUrl: string;
  /** The job permission the call needs, e.g. `issues: write`. */
  permission: string;
  /** What the token may not do on a 403, e.g. `write issues`. */
  what: string;
  /** How to stop trying, on a 410. */
  off: string;
}

/**
 * A GitHub failure in words, by its kind: no answer in time, no connection, or what the status means. Never
 * a permissions hint for a connection error.
 */
export function explainGitHubFailure(error: unknown, call: GitHubCall): string {
  const { timeoutMs, apiUrl } = call;
  const e = error as { name?: string; status?: number; response?: unknown; message?: string } | undefined;
  if (call.timedOut || e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return `GitHub's API (${apiUrl}) did not answer within ${timeoutMs / 1000} s (timeout-seconds). Check the network or proxy between the runner and GitHub, or raise timeout-seconds.`;
  }
  if (!e || typeof e.status !== 'number' || e.response === undefined) {
    return `could not reach GitHub's API (${apiUrl}): ${e?.message ?? String(error)}. Check the network, the proxy variables (HTTPS_PROXY, NO_PROXY) and GITHUB_API_URL.`;
  }
  const said = e.message ? `: ${e.message}` : '';
  switch (e.status) {
    case 401:
      return `GitHub rejected the token (401)${said}. Check github-token (its default, \${{ github.token }}, works).`;
    case 403:
      return /rate limit/i.test(e.message ?? '')
        ? `GitHub's rate limit was hit (403)${said}. The next scheduled run will try again.`
        : `the token may not ${call.what} here (403)${said}. Give the job \`permissions: ${call.permission}\`; on pull requests from forks the token is read-only, so nothing can be written there.`;
    case 404:
      return `GitHub answered not found (404)${said}: the repository or issue is not visible to the token. Check github-token and GITHUB_REPOSITORY.`;
    case 410:
      return `issues are disabled in this repository (410)${said}. Enable them in the repository's settings, or ${call.off}.`;
    default:
      return `GitHub answered HTTP ${e.status}${said}.`;
  }
}
