import * as core from '@actions/core';
import { CertificateReader, ORGANIZATION, type ListedCertificate, type Scope } from '../api/reader.js';
import { createClient } from '../api/client.js';
import { hintFor } from '../inputs/hints.js';
import { actionsLogger } from '../log.js';
import { mapLimit } from '../concurrency.js';
import { connectionAdvisories, maskSecrets } from '../inputs/connection.js';
import { announce, defaultDependencies, failRun, setOutputs, writeSummary, type RunDependencies } from '../runtime.js';
import { MAX_CLOCK_SKEW_MS } from '../limits.js';
import { decisionClock, isoSeconds } from '../time.js';
import { duration } from '../wording.js';
import { assess, type Assessment } from './coverage.js';
import { describeScopeLabel, renderStatusSummary, statusHeadline, statusOutputs } from './report.js';
import { readStatusSettings, type StatusSettings } from './settings.js';

/** How many list calls run at once: reads only, so more than the main action's writes. */
export const READ_CONCURRENCY = 16;

/**
 * The status action: inputs → read the organization and the watched projects → assess coverage →
 * report. It only reads: no upload, activation or deletion, ever. Never throws; failures and failing
 * scopes set the exit code, and the outputs are written in every case.
 */
export async function run(overrides: Partial<RunDependencies> = {}): Promise<void> {
  const deps = { ...defaultDependencies, ...overrides };
  const now = deps.now();
  let settings: StatusSettings | undefined;
  let assessment: Assessment | undefined;
  let failure: string | undefined;
  try {
    maskSecrets();
    settings = readStatusSettings();
    announce(connectionAdvisories(settings, process.env));
    const { client, baseURL, proxy } = await createClient(settings);
    const api = new CertificateReader(client, baseURL, proxy, () => deps.now().getTime());
    core.info(`OpenAI API: ${baseURL}${settings.clientCertificate ? ' (presenting the client certificate over TLS)' : ''}`);
    if (proxy) core.info(`Proxy: ${proxy} (from the proxy environment variables; hosts in NO_PROXY are reached directly).`);

    const { organization, projects } = await readScopes(api, settings);
    // As in the main action: when the runner's clock is more than 5 minutes off the API's, the figures use the API's.
    const clock = decisionClock(deps.now, api.clock, MAX_CLOCK_SKEW_MS);
    if (clock.usesApi && clock.skewMs !== undefined) {
      const apiNow = clock.now();
      actionsLogger.warning(
        `The runner's clock (${isoSeconds(Math.floor(now.getTime() / 1000))}) is ${duration(clock.skewMs)} ${clock.skewMs > 0 ? 'behind' : 'ahead of'} the API's (${isoSeconds(Math.floor(apiNow.getTime() / 1000))}): the days left and renewal-due use the API's clock. Fix the runner's clock (NTP).`,
        'clock',
      );
    }
    assessment = assess(organization, projects, { ...settings, now: clock.now() });
    annotate(assessment, settings);
    // A watchdog that cannot see an expiry must not say all is well: coverage it cannot date fails the run.
    const undated = assessment.scopes.filter((s) => s.state === 'unknown').map((s) => describeScopeLabel(s.scope));
    if (undated.length) {
      failure = `The coverage of ${undated.join(', ')} cannot be verified: certificates are active there, but the API gives no expiry for any of them, so renewal-due is left empty rather than guessed. Check the certificates' dates in the dashboard; if the API keeps omitting them, report it.`;
      actionsLogger.error(failure, 'coverage unknown');
      process.exitCode = core.ExitCode.Failure;
    } else core.info(statusHeadline(assessment, settings));
    if (assessment.failing) process.exitCode = core.ExitCode.Failure;
  } catch (error) {
    failure = failRun(error, { hint: (e) => hintFor(e, 'projects') }, actionsLogger);
  }
  const outputs = statusOutputs(assessment);
  if (assessment?.scopes.some((s) => s.state === 'unknown')) outputs['renewal-due'] = '';
  setOutputs(outputs);
  await writeSummary(renderStatusSummary(assessment, settings, failure));
}

/**
 * One list of the organization and one of each watched project (all of them with `projects: all`, read
 * page by page), at most READ_CONCURRENCY at once. A project that does not exist fails the run, named.
 */
async function readScopes(
  api: CertificateReader,
  settings: StatusSettings,
): Promise<{ organization: ListedCertificate[]; projects: Array<[Scope, ListedCertificate[]]> }> {
  const projectIds = async (): Promise<string[]> => {
    if (settings.projects !== 'all') return settings.projects;
    const ids = await api.listProjects();
    core.info(`projects: all: ${ids.length} project(s) that are not archived.`);
    return ids;
  };
  const [organization, projects] = await Promise.all([
    api.listScope(ORGANIZATION),
    projectIds().then((ids) =>
      mapLimit(ids, READ_CONCURRENCY, async (id): Promise<[Scope, ListedCertificate[]]> => [id, await api.listScope(id)]),
    ),
  ]);
  core.info(`The organization holds ${organization.length} certificate(s); read ${projects.length + 1} scope(s).`);
  return { organization, projects };
}

/** A warning for each scope due for renewal, an error for each failing one, and a log line for every scope. */
function annotate(assessment: Assessment, settings: StatusSettings): void {
  for (const scope of assessment.scopes) {
    const c = scope.coveredBy;
    const label = describeScopeLabel(scope.scope);
    const until = c?.expiresAt === undefined ? '' : `${isoSeconds(c.expiresAt)}, by ${c.id}${c.name ? ` ("${c.name}")` : ''}`;
    core.info(`${label}: ${scope.active.length} watched certificate(s) active${until ? `; covered until ${until}` : ''}; ${scope.state}.`);
    const title = `renewal ${scope.scope}`;
    if (scope.state === 'failing') {
      core.error(
        `${label}'s coverage ${(c?.expiresAt ?? 0) * 1000 <= assessment.now.getTime() ? 'has ended' : 'ends'} on ${until}: within fail-within-days (${settings.failWithinDays}). Clients whose certificates chain to it will be refused once it ends. Upload and activate the next CA now, then retire this one.`,
        { title },
      );
    } else if (scope.state === 'due') {
      core.warning(
        `${label}'s coverage ends on ${until}: within renew-within-days (${settings.renewWithinDays}). Upload and activate the next CA, then retire this one.`,
        { title },
      );
    } else if (scope.state === 'unknown') {
      core.warning(`${label} has watched certificates active, but the API gives no expiry for any of them: its coverage cannot be told.`, {
        title,
      });
    }
  }
}
