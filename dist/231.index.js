export const id = 231;
export const ids = [231];
export const modules = {

/***/ 4231:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   commentOnPullRequest: () => (/* binding */ commentOnPullRequest)
/* harmony export */ });
/* unused harmony export commentMarker */
/* harmony import */ var _log_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(5625);
/* harmony import */ var _text_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8992);


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
async function commentOnPullRequest(body, token, log = _log_js__WEBPACK_IMPORTED_MODULE_0__/* .actionsLogger */ .M) {
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
    const text = `${marker}\n${(0,_text_js__WEBPACK_IMPORTED_MODULE_1__/* .redact */ .E$)(body)}`;
    const { owner, repo } = context.repo;
    try {
        const octokit = getOctokit(token);
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
        const status = error.status;
        log.warning(`Could not comment on pull request #${number}${status ? ` (HTTP ${status})` : ''}: ${error.message}. ` +
            'The run itself is unaffected. Give the job `permissions: pull-requests: write`; on pull requests from forks the token is read-only, so no comment is possible there.');
        return 'failed';
    }
}


/***/ })

};
