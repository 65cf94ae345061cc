import "./rolldown-runtime-DYf_mQCB.js";
import { a as info, d as warning } from "./core-YCN67Vum.js";
// src/report/comment.ts
/** Finds the action's own comment again; one per job and step, so two uses in a workflow do not fight. */
function commentMarker(env = process.env) {
	const where = [env.GITHUB_JOB, env.GITHUB_ACTION].filter(Boolean).join("/");
	return `<!-- openai-mtls-certificate-action${where ? ` ${where.replace(/--/g, "-")}` : ""} -->`;
}
const PULL_REQUEST_EVENTS = /* @__PURE__ */ new Set(["pull_request", "pull_request_target"]);
/**
* Creates or updates the action's comment on the pull request that triggered the run. Octokit is
* loaded only here, so runs that do not comment never pay for it. Failing to comment (a fork's
* read-only token, for example) is a warning, never a failure.
*/
async function commentOnPullRequest(body, token) {
	const { context, getOctokit } = await import("./github-ByBKoJ6f.js");
	if (!PULL_REQUEST_EVENTS.has(context.eventName)) {
		info(`comment-on-pr: the event is ${context.eventName || "unknown"}, not a pull request; no comment.`);
		return "skipped";
	}
	const number = context.payload.pull_request?.number;
	if (!number) {
		warning("comment-on-pr: the event payload names no pull request; no comment was written.");
		return "skipped";
	}
	const marker = commentMarker();
	const text = `${marker}\n${body}`;
	const { owner, repo } = context.repo;
	try {
		const octokit = getOctokit(token);
		const mine = (await octokit.paginate(octokit.rest.issues.listComments, {
			owner,
			repo,
			issue_number: number,
			per_page: 100
		})).find((c) => c.body?.includes(marker));
		if (mine) {
			await octokit.rest.issues.updateComment({
				owner,
				repo,
				comment_id: mine.id,
				body: text
			});
			info(`Updated the comment on pull request #${number}.`);
			return "updated";
		}
		await octokit.rest.issues.createComment({
			owner,
			repo,
			issue_number: number,
			body: text
		});
		info(`Commented on pull request #${number}.`);
		return "created";
	} catch (error) {
		const status = error.status;
		warning(`Could not comment on pull request #${number}${status ? ` (HTTP ${status})` : ""}: ${error.message}. The run itself is unaffected. Give the job \`permissions: pull-requests: write\`; on pull requests from forks the token is read-only, so no comment is possible there.`);
		return "failed";
	}
}
export { commentOnPullRequest };
