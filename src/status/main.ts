import { CertificateReader, ORGANIZATION, type ListedCertificate, type Scope } from '../api/reader.js';
import { createClient } from '../api/client.js';
import { unlessCancelled } from '../concurrency.js';
import { ActionError } from '../errors.js';
import { connectionAdvisories, maskSecrets } from '../inputs/connection.js';
import { readInput } from '../inputs/read.js';
import { actionsLogger, type Logger } from '../log.js';
import { hintFor } from '../inputs/hints.js';
import { MAX_CLOCK_SKEW_MS, READ_CONCURRENCY } from '../limits.js';
import { announce, runAction, setOutputs, writeSummary, type RunDependencies } from '../runtime.js';
import { decisionClock, isoSeconds } from '../time.js';
import { certificateLabel, duration, scopeLabel } from '../wording.js';
import { assess, type Assessment } from './coverage.js';
import { CANCELLED_ISSUE, issueNeed, NO_ISSUE, trackIssue, type IssueNeed, type IssueResult } from './issue.js';
import { coverageOutputs, issueOutputs, renderStatusSummary, statusHeadline } from './report.js';
import { readStatusSettings, type StatusSettings } from './settings.js';
import { watchingNothing } from './watch.js';

/**
 * The status action: inputs → read the organization and the watched projects → assess coverage →
 * report, and the tracking issue when open-issue is on. It never writes to OpenAI: no upload,
 * activation or deletion, ever. Failures, failing scopes, coverage that cannot be dated and a watch that
 * matches nothing set the exit code, and the outputs are written in every case (on cancellation too).
 */
export async function run(overrides: Partial<RunDependencies> = {}): Promise<void> {
  let assessment: Assessment | undefined;
  let failure: string | undefined;
  // The tracking issue's write while its call is under way, named if the run is cancelled then.
  let issueUnderWay: string | undefined;
  await runAction<StatusSettings>(
    {
      mask: () => maskSecrets(readInput, process.env, ['github-token']),
      readSettings: () => readStatusSettings(),
      execute: async (settings, { deps, log }) => {
        announce(connectionAdvisories(settings, process.env), log);
        const { client, baseURL, proxy } = await createClient(settings);
        const api = new CertificateReader(client, baseURL, proxy, () => deps.now().getTime());
        log.info(`OpenAI API: ${baseURL}${settings.clientCertificate ? ' (presenting the client certificate over TLS)' : ''}`);
        if (proxy) log.info(`Proxy: ${proxy} (from the proxy environment variables; hosts in NO_PROXY are reached directly).`);

        const { organization, projects } = await readScopes(api, settings, log);
        const clock = decisionClock(deps.now, api.clock, MAX_CLOCK_SKEW_MS);
        if (clock.usesApi && clock.skewMs !== undefined) {
          log.warning(
            `The runner's clock is ${duration(clock.skewMs)} ${clock.skewMs > 0 ? 'behind' : 'ahead of'} the API's: every figure (days left, renewal due) follows the API's clock. Fix the runner's clock (NTP).`,
            'clock',
          );
        }
        assessment = assess(organization, projects, { ...settings, now: clock.now() });
        annotate(assessment, settings, log);
        log.info(statusHeadline(assessment, settings));
        if (assessment.failing) process.exitCode = 1;
        const nothing = watchingNothing(organization, projects, assessment, settings.name);
        if (nothing) throw nothing;
        if (assessment.unverified) throw unverifiedError(assessment);
      },
      hint: (error) => hintFor(error, 'projects'),
      failed: (_error, text) => {
        failure = text;
      },
      // Coverage outputs first, then the tracking issue, then its outputs and the summary: a cancel during
      // the issue call stops the wait for it, so nothing known before the call is lost with it.
      report: async (settings, cancelled) => {
        setOutputs(coverageOutputs(assessment));
        let issue: IssueResult = NO_ISSUE;
        if (settings?.openIssue && cancelled.aborted) {
          actionsLogger.info('open-issue: the run was cancelled, so the tracking issue was left as it was.');
        } else if (settings?.openIssue) {
          const need = issueNeed(assessment, failure !== undefined);
          issueUnderWay = ISSUE_WRITE[need];
          issue = await unlessCancelled(trackIssue(assessment, need, settings, actionsLogger), cancelled, () => {
            actionsLogger.warning(
              'open-issue: the run was cancelled while updating the tracking issue, before GitHub answered: the issue may or may not have been updated. The next scheduled run reads it again and will reconcile it.',
              'open-issue',
            );
            return CANCELLED_ISSUE;
          });
          issueUnderWay = undefined;
        }
        setOutputs(issueOutputs(issue));
        writeSummary(renderStatusSummary(assessment, settings, failure, issue));
      },
      inFlight: () => (issueUnderWay ? [issueUnderWay] : []),
    },
    overrides,
  );
}

/** The write to the tracking issue that each need leads to, as a cancelled run names it; none when not known. */
const ISSUE_WRITE: Record<IssueNeed, string | undefined> = {
  due: 'open or update the tracking issue',
  healthy: 'close the tracking issue',
  unknown: undefined,
};

/** The failure when some scope's coverage cannot be dated: a watchdog that cannot see the expiry must not say all is well. */
function unverifiedError(assessment: Assessment): ActionError {
  const scopes = assessment.scopes.filter((s) => s.state === 'unknown');
  const which = scopes.map((s) => `${scopeLabel(s.scope)} (${s.active.map((c) => c.id).join(', ')})`).join('; ');
  return new ActionError(
    `The coverage of ${which} cannot be verified: the API lists no expiry for the watched certificates active there, so the status action cannot tell whether renewal is due.`,
    {
      title: 'coverage unknown',
      hint: 'Check those certificates in the OpenAI dashboard and run again; if the API keeps listing them without an expiry, report it to OpenAI.',
    },
  );
}

/**
 * One list of the organization and one of each watched project (all of them with `projects: all`, read
 * page by page), at most READ_CONCURRENCY at once. A project that does not exist fails the run, named.
 */
async function readScopes(
  api: CertificateReader,
  settings: StatusSettings,
  log: Logger,
): Promise<{ organization: ListedCertificate[]; projects: Array<[Scope, ListedCertificate[]]> }> {
  const projectIds = async (): Promise<string[]> => {
    if (settings.projects !== 'all') return settings.projects;
    const ids = await api.listProjects();
    log.info(`projects: all: ${ids.length} project(s) that are not archived.`);
    return ids;
  };
  const [organization, projects] = await Promise.all([
    api.listScope(ORGANIZATION),
    projectIds().then((ids) => api.listProjectScopes(ids, READ_CONCURRENCY)),
  ]);
  log.info(`The organization holds ${organization.length} certificate(s); read ${projects.length + 1} scope(s).`);
  return { organization, projects };
}

/** A warning for each scope due for renewal, an error for each failing one, and a log line for every scope. */
function annotate(assessment: Assessment, settings: StatusSettings, log: Logger): void {
  for (const scope of assessment.scopes) {
    const c = scope.coveredBy;
    const label = scopeLabel(scope.scope);
    const until = c?.expiresAt === undefined ? '' : `${isoSeconds(c.expiresAt)}, by ${certificateLabel(c)}`;
    log.info(`${label}: ${scope.active.length} watched certificate(s) active${until ? `; covered until ${until}` : ''}; ${scope.state}.`);
    const title = `renewal ${scope.scope}`;
    if (scope.state === 'failing' && c?.expiresAt !== undefined) {
      log.error(
        `${label}'s coverage ${c.expiresAt * 1000 <= assessment.now.getTime() ? 'has ended' : 'ends'} on ${until}: within fail-within-days (${settings.failWithinDays}). Clients whose certificates chain to it will be refused once it ends. Upload and activate the next CA now, then retire this one.`,
        title,
      );
    } else if (scope.state === 'due') {
      log.warning(
        `${label}'s coverage ends on ${until}: within renew-within-days (${settings.renewWithinDays}). Upload and activate the next CA, then retire this one.`,
        title,
      );
    }
    const undated = scope.active.filter((a) => a.expiresAt === undefined);
    if (undated.length > 0 && scope.state !== 'unknown') {
      log.warning(
        `${label}: the API lists no expiry for ${undated.map(certificateLabel).join(', ')}, active there; its coverage is counted from the dated certificates only.`,
        title,
      );
    }
  }
}
