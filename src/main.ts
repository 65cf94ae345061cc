import { CertificateApi } from './api/certificates.js';
import { createClient } from './api/client.js';
import { runPreflight, sourceFailure, type Check, type Preflight } from './certificate/checks.js';
import { readSourceBytes } from './certificate/source.js';
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
  };
  await runAction<Settings>(
    {
      mask: () => maskSecrets(undefined, undefined, ['github-token']),
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
      report: (settings) => writeReport(report, settings),
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
  }
  const certificate = report.certificate;
  if (!certificate) return;

  const state = await observe(api, { ...settings, now: report.now, log }, { certificate, existing });
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
  const plan = decide(state, settings, report.now);
  report.plan = plan;
  logPlan(report, log);
  say(plan.advisories);
  if (lockout)
    log.info('Caution: after this activation for the organization, Admin API calls need a client certificate (see the warning above).');
  if (settings.dryRun) {
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
  });
}

/**
 * Activating certificates for the organization makes OpenAI require client certificates on Admin API key
 * requests too. Without client-certificate, the next runs of this action would be refused: a warning.
 */
function lockoutCaution(settings: Settings): string | undefined {
  if (!settings.activateOrganization || settings.clientCertificate) return undefined;
  return 'activate-organization is on and no client-certificate is set: once a certificate is active for the organization, OpenAI requires a client certificate on Admin API key requests too, so later runs of this action (and other admin tools) must present one (client-certificate and client-key).';
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
}

async function writeReport(report: RunReport, settings: Settings | undefined): Promise<void> {
  setOutputs(computeOutputs(report));
  if (!report.failure) actionsLogger.info(headline(report));
  const markdown = renderSummary(report);
  await writeSummary(markdown);
  if (settings?.commentOnPr) {
    try {
      const { commentOnPullRequest } = await import('./report/comment.js');
      await commentOnPullRequest(markdown, settings.githubToken, settings.timeoutMs);
    } catch (error) {
      // The comment is a courtesy: failing to write it never fails the run.
      report.outcome.cautions.push(`Could not comment on the pull request: ${(error as Error).message}`);
    }
  }
}
