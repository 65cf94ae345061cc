export const id = 154;
export const ids = [154];
export const modules = {

/***/ 8154:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  commentOnPullRequest: () => (/* binding */ commentOnPullRequest)
});

// UNUSED EXPORTS: commentMarker

// EXTERNAL MODULE: ./src/log.ts
var src_log = __webpack_require__(5625);
// EXTERNAL MODULE: ./src/text.ts
var src_text = __webpack_require__(8992);
;// CONCATENATED MODULE: ./src/report/github.ts
/**
 * Bounds every request of an Octokit client (each page too) by `timeoutMs`. A `before` hook, because a `wrap`
 * hook's new options would not reach the request past the token's own wrap; the rest of `request` (the
 * proxy-aware fetch of @actions/github) is kept. Returns whether one of those time limits has run out: the
 * failure is then a timeout, whatever error Octokit wraps it in.
 */
function boundRequests(octokit, timeoutMs) {
    const signals = [];
    octokit.hook.before('request', (options) => {
        const signal = AbortSignal.timeout(timeoutMs);
        signals.push(signal);
        options.request = { ...options.request, signal };
    });
    return () => signals.some((signal) => signal.aborted);
}
/**
 * A GitHub failure in words, by its kind: no answer in time, no connection, or what the status means. Never
 * a permissions hint for a connection error.
 */
function explainGitHubFailure(error, call) {
    const { timeoutMs, apiUrl } = call;
    const e = error;
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

;// CONCATENATED MODULE: ./src/report/comment.ts



/** Finds the action's own comment again; one per job and step, so two uses in a workflow do not fight. */
function commentMarker(env = process.env) {
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
async function commentOnPullRequest(body, github, log = src_log/* actionsLogger */.M) {
    const { context, getOctokit } = await __webpack_require__.e(/* import() */ 413).then(__webpack_require__.bind(__webpack_require__, 2413));
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
    const text = `${marker}\n${(0,src_text/* redact */.E$)(body)}`;
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
    }
    catch (error) {
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


/***/ })

};
