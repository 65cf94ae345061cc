import { CertificateApi } from './api/certificates.js';
import { createClient } from './api/client.js';
import { runPreflight, sourceFailure, type Check, type Preflight } from './certificate/checks.js';
import { checkCanaryChain } from './canary/settings.js';
import { readSourceBytes } from './certificate/source.js';
import { unlessCancelled } from './concurrency.js';
import { ActionError, SourceError } from './errors.js';
import { connectionAdvisories, maskSecrets } from './inputs/connection.js';
import { hintFor } from './inputs/hints.js';
import { readSettings, type Settings } from './inputs/settings.js';
import { MAX_CLOCK_SKEW_MS } from './limits.js';
import { actionsLogger, type Logger } from './log.js';
import { computeOutputs } from './report/outputs.js';
import { headline, renderSummary } from './report/summary.js';
import type { RunReport } from './report/model.js';
import { apply } from './rotation/apply.js';
import { outline, stages, withCanary } from './rotation/canary.js';
import { decide, type Advisory } from './rotation/decide.js';
import { Journal } from './rotation/journal.js';
import { observe } from './rotation/observe.js';
import { announce, runAction, setOutputs, writeSummary, type RunDependencies } from './runtime.js';
import { maskText } from './secrets.js';
import { decisionClock, isoSeconds } from './time.js';
import { duration, scopeLabel } from './wording.js';

/** The main action: inputs → certificate (decode, check) → observe → decide → act → read back → report. */
export async function run(overrides: Partial<RunDependencies> = {}): Promise<void> {
  const report: RunReport = {
    now: (overrides.now ?? (() => new Date()))(),
    dryRun: false,
    offline: false,
    requestedName: undefined,
    checks: [],
    certificate: undefined,
    plan: undefined,
    outcome: new Journal(),
    failure: undefined,
    canary: undefined,
  };
  await runAction<Settings>(
    {
      mask: () => maskSecrets(undefined, undefined, ['github-token', 'canary-api-key', 'canary-client-key']),
      readSettings: () => {
        const settings = readSettings();
        report.dryRun = settings.dryRun;
        report.requestedName = settings.name;
        return settings;
      },
      execute: (settings, context) => execute(settings, report, context),
      hint: (error) => hintFor(error, 'activate-projects'),
      failed: (error, failure) => {
        if (error instanceof SourceError) report.checks = sourceFailure(error);
        report.failure = failure;
      },
      report: (settings, cancelled) => writeReport(report, { settings, cancelled }),
      inFlight: () => [...report.outcome.inFlight],
    },
    overrides,
  );
}

async function execute(settings: Settings, report: RunReport, context: { deps: RunDependencies; log: Logger }): Promise<void> {
  const { deps, log } = context;
  const say = (advisories: readonly Advisory[]): void => void report.outcome.cautions.push(...announce(advisories, log));
  say(connectionAdvisories(settings, process.env));
  const lockout = lockoutCaution(settings);
  if (lockout) say([{ level: 'warning', title: 'activate-organization', message: lockout }]);
  const preflightOptions = {
    strict: settings.strict,
    minValidityDays: settings.minValidityDays,
    warnValidityDays: settings.warnValidityDays,
    now: report.now,
    mask: maskText,
  };

  if (settings.source.kind !== 'id') {
    let preflight: Preflight;
    try {
      preflight = runPreflight(readSourceBytes(settings.source), preflightOptions);
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      preflight = { checks: sourceFailure(error), certificate: undefined };
    }
    if (!concludePreflight(preflight, report, log)) return;
    checkCanary(settings, report);
  }

  if (!settings.adminApiKey) {
    report.offline = true;
    log.info('Dry run without an admin key: the local checks ran, and nothing was sent to OpenAI.');
    return;
  }

  const { client, baseURL, proxy } = await createClient(settings);
  const api = new CertificateApi(client, baseURL, proxy, () => deps.now().getTime());
  log.info(`OpenAI API: ${baseURL}${settings.clientCertificate ? ' (presenting the client certificate over TLS)' : ''}`);
  if (proxy) log.info(`Proxy: ${proxy} (from the proxy environment variables; hosts in NO_PROXY are reached directly).`);

  let existing;
  if (settings.source.kind === 'id') {
    existing = await api.retrieve(settings.source.id);
    log.info(`Certificate ${existing.id}${existing.name ? ` ("${existing.name}")` : ''} found in the organization.`);
    if (!existing.content)
      throw new ActionError(`The API returned no content for ${existing.id}.`, {
        title: 'api',
        hint: 'Try again; if it persists, report it.',
      });
    if (!concludePreflight(runPreflight(Buffer.from(existing.content), preflightOptions), report, log)) return;
    checkCanary(settings, report);
  }
  const certificate = report.certificate;
  if (!certificate) return;

  // The canary project is read and planned as a scope: activated first, and counted where scopes are counted.
  const request = withCanary(settings, settings.canary);
  const state = await observe(api, { ...request, now: report.now, log }, { certificate, existing });
  const clock = decisionClock(deps.now, api.clock, MAX_CLOCK_SKEW_MS);
  if (clock.usesApi && clock.skewMs !== undefined) {
    report.now = clock.now();
    say([
      {
        level: 'warning',
        title: 'clock',
        message: `The runner's clock (${isoSeconds(Math.floor(deps.now().getTime() / 1000))}) is ${duration(clock.skewMs)} ${clock.skewMs > 0 ? 'behind' : 'ahead of'} the API's (${isoSeconds(Math.floor(report.now.getTime() / 1000))}): every time decision (expired, valid yet, days left) uses the API's clock. Fix the runner's clock (NTP).`,
      },
    ]);
  }
  const plan = decide(state, request, report.now);
  report.plan = plan;
  if (settings.canary)
    report.canary = outline(settings.canary, {
      mtlsBaseURL: settings.mtlsBaseURL,
      organization: settings.activateOrganization,
      adminThroughMtls: settings.clientCertificate !== undefined,
    });
  logPlan(report, log);
  say(plan.advisories);
  if (lockout)
    log.info('Caution: after this activation for the organization, Admin API calls need a client certificate (see the warning above).');
  if (settings.dryRun) {
    if (report.canary) log.info('Dry run: no proof request was sent.');
    log.info('Dry run: nothing was written.');
    return;
  }

  await apply(plan, {
    api,
    retry: { maxRetries: settings.maxRetries, sleep: deps.sleep, random: deps.random },
    log,
    journal: report.outcome,
    now: clock.now,
    certificate,
    name: settings.name,
    advise: (advisory) => say([advisory]),
    canary: settings.canary && {
      canary: settings.canary,
      mtlsBaseURL: settings.mtlsBaseURL,
      adminThroughMtls: settings.clientCertificate !== undefined,
      env: process.env,
    },
  });
}

/**
 * Activating certificates for the organization makes OpenAI require client certificates on Admin API key
 * requests too. Without client-certificate, the next runs of this action would be refused: a warning.
 */
function lockoutCaution(settings: Settings): string | undefined {
  if (!settings.activateOrganization || settings.clientCertificate) return undefined;
  return (
    'activate-organization is on and no client-certificate is given. Once a CA is active for the organization, OpenAI enforces client ' +
    'certificates on Admin API key requests: later runs of this action (and every other Admin API call) will need client-certificate and ' +
    'client-key (a client certificate that chains to an active CA, and its key, from secrets), and calls later in this run, such as ' +
    'retiring the previous CA, may be refused. Pass them now, or activate per project (activate-projects) instead.'
  );
}

/** Before any request that acts on it: the canary client certificate must chain to the CA being rotated in. */
function checkCanary(settings: Settings, report: RunReport): void {
  if (settings.canary && report.certificate) checkCanaryChain(settings.canary, report.certificate.pem, report.now);
}

/** Records the checks, annotates failures and warnings, and says whether the run may go on. */
function concludePreflight(preflight: Preflight, report: RunReport, log: Logger): boolean {
  report.checks = preflight.checks;
  report.certificate = preflight.certificate;
  const cert = preflight.certificate;
  if (cert) {
    log.info(`Certificate: ${cert.subject}, issued by ${cert.issuer}`);
    log.info(`  SHA-256 fingerprint ${cert.fingerprint}`);
    log.info(`  valid from ${cert.notBefore.toISOString()} until ${cert.notAfter.toISOString()}`);
  }
  for (const check of preflight.checks) annotate(check, log);
  const passed = preflight.checks.filter((c) => c.status === 'pass').length;
  const failed = preflight.checks.filter((c) => c.status === 'fail');
  const warnings = preflight.checks.filter((c) => c.status === 'warning').length;
  log.info(`Preflight: ${passed} of ${preflight.checks.length} checks pass; ${failed.length} fail, ${warnings} warn.`);
  if (failed.length === 0) return true;
  report.failure = `${failed.length === 1 ? 'the check' : `${failed.length} checks`} ${failed.map((c) => c.name).join(', ')} failed; nothing was sent to OpenAI. Fix the certificate and run again.`;
  log.info(`Stopped: ${report.failure}`);
  process.exitCode = 1;
  return false;
}

function annotate(check: Check, log: Logger): void {
  const text = check.hint ? `${check.message} ${check.hint}` : check.message;
  if (check.status === 'fail') log.error(text, check.name);
  else if (check.status === 'warning') log.warning(text, check.name);
}

function logPlan(report: RunReport, log: Logger): void {
  const plan = report.plan;
  if (!plan) return;
  log.info(`The organization holds ${plan.before.length} certificate(s).`);
  for (const scope of plan.scopes) {
    const active = scope.activeBefore.map((c) => c.id).join(', ') || 'none';
    log.info(
      `${scopeLabel(scope.scope)}: active now ${active}; ${scope.activate ? 'will activate the certificate' : 'already active'}${scope.retire.length ? `; will retire ${scope.retire.map((c) => c.id).join(', ')} once it is read back active` : ''}.`,
    );
  }
  const deletions = [...plan.deleteFirst, ...plan.deleteAfter];
  if (deletions.length)
    log.info(`delete-expired: will delete ${deletions.map((c) => c.id).join(', ')} (expired, inactive everywhere read).`);
  if (plan.duplicates.length)
    log.info(`Will delete ${plan.duplicates.map((c) => c.id).join(', ')}: inactive duplicates of the certificate.`);
  if (report.canary) {
    log.info(`Staged rollout with the canary project ${report.canary.projectId}, in these stages:`);
    for (const [i, { text }] of stages(plan, report.canary).entries()) log.info(`  ${i + 1}. ${text}`);
  }
}

/**
 * Outputs and summary first, synchronously; then the comment, which a cancelled run does not start, and
 * stops waiting for when the cancel comes while it is being written.
 */
async function writeReport(report: RunReport, run: { settings: Settings | undefined; cancelled: AbortSignal }): Promise<void> {
  const { settings, cancelled } = run;
  setOutputs(computeOutputs(report));
  if (!report.failure) actionsLogger.info(headline(report));
  const markdown = renderSummary(report);
  writeSummary(markdown);
  if (settings?.commentOnPr && cancelled.aborted) {
    actionsLogger.info('comment-on-pr: the run was cancelled, so no comment was written; the job summary has the report.');
  } else if (settings?.commentOnPr) {
    try {
      const { commentOnPullRequest } = await import('./report/comment.js');
      const written = report.outcome.track('write the pull-request comment', () =>
        commentOnPullRequest(markdown, { token: settings.githubToken, timeoutMs: settings.timeoutMs }),
      );
      await unlessCancelled<unknown>(written, cancelled, () =>
        actionsLogger.warning(
          'comment-on-pr: the run was cancelled while the pull-request comment was being written, before GitHub answered: it may or may not have been posted. The job summary has the report.',
          'comment-on-pr',
        ),
      );
    } catch (error) {
      // The comment is a courtesy: failing to write it never fails the run.
      report.outcome.cautions.push(`Could not comment on the pull request: ${(error as Error).message}`);
    }
  }
}
