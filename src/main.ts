import * as core from '@actions/core';
import { CertificateApi } from './api/certificates.js';
import { createClient } from './api/client.js';
import { runPreflight, sourceFailure, type Check, type Preflight } from './certificate/checks.js';
import { readSourceBytes } from './certificate/source.js';
import { ActionError, SourceError } from './errors.js';
import { connectionAdvisories, maskSecrets } from './inputs/connection.js';
import { readSettings, type Settings } from './inputs/settings.js';
import { computeOutputs } from './report/outputs.js';
import { headline, renderSummary } from './report/summary.js';
import type { RunReport } from './report/model.js';
import { applyPlan, emptyOutcome } from './rotation/apply.js';
import { lockoutCaution, makePlan } from './rotation/plan.js';
import { announce, defaultDependencies, failRun, setOutputs, writeSummary, type RunDependencies } from './runtime.js';
import { maskText } from './secrets.js';

/** The action: inputs → certificate → plan → apply → report. Never throws; failures set the exit code. */
export async function run(overrides: Partial<RunDependencies> = {}): Promise<void> {
  const deps = { ...defaultDependencies, ...overrides };
  const report: RunReport = {
    now: deps.now(),
    dryRun: false,
    offline: false,
    requestedName: undefined,
    checks: [],
    certificate: undefined,
    plan: undefined,
    outcome: emptyOutcome(),
    cautions: [],
    failure: undefined,
  };
  let settings: Settings | undefined;
  try {
    maskSecrets(undefined, undefined, ['github-token']);
    settings = readSettings();
    report.dryRun = settings.dryRun;
    report.requestedName = settings.name;
    report.cautions.push(...announce(connectionAdvisories(settings, process.env)));
    const lockout = lockoutCaution(settings);
    if (lockout) report.cautions.push(...announce([{ level: 'warning', title: 'activate-organization', message: lockout }]));
    await execute(settings, report, deps);
  } catch (error) {
    if (error instanceof SourceError) report.checks = sourceFailure(error);
    report.failure = failRun(error);
  }
  await writeReport(report, settings);
}

async function execute(settings: Settings, report: RunReport, deps: RunDependencies): Promise<void> {
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
    if (!concludePreflight(preflight, report)) return;
  }

  if (!settings.adminApiKey) {
    report.offline = true;
    core.info('Dry run without an admin key: the local checks ran, and nothing was sent to OpenAI.');
    return;
  }

  const { client, baseURL, proxy } = await createClient(settings);
  const api = new CertificateApi(client, baseURL, proxy);
  core.info(`OpenAI API: ${baseURL}${settings.clientCertificate ? ' (presenting the client certificate over TLS)' : ''}`);
  if (proxy) core.info(`Proxy: ${proxy} (from the proxy environment variables; hosts in NO_PROXY are reached directly).`);

  let existing;
  if (settings.source.kind === 'id') {
    existing = await api.retrieve(settings.source.id, true);
    core.info(`Certificate ${existing.id}${existing.name ? ` ("${existing.name}")` : ''} found in the organization.`);
    if (!existing.content)
      throw new ActionError(`The API returned no content for ${existing.id}.`, {
        title: 'api',
        hint: 'Try again; if it persists, report it.',
      });
    if (!concludePreflight(runPreflight(Buffer.from(existing.content), preflightOptions), report)) return;
  }
  const certificate = report.certificate;
  if (!certificate) return;

  const plan = await makePlan(api, settings, certificate, existing, report.now);
  report.plan = plan;
  logPlan(report);
  if (lockoutCaution(settings))
    core.info('Caution: after this activation for the organization, Admin API calls need a client certificate (see the warning above).');
  if (settings.dryRun) {
    core.info('Dry run: nothing was written.');
    return;
  }

  const log = (line: string): void => core.info(line);
  await applyPlan(
    api,
    plan,
    certificate,
    {
      retry: { maxRetries: settings.maxRetries, sleep: deps.sleep, random: deps.random, now: () => deps.now().getTime(), log },
      log,
      notice: (line) => core.notice(line),
      warning: (line) => {
        core.warning(line);
        report.cautions.push(line);
      },
      name: settings.name,
    },
    report.outcome,
  );
}

/** Records the checks, annotates failures and warnings, and says whether the run may go on. */
function concludePreflight(preflight: Preflight, report: RunReport): boolean {
  report.checks = preflight.checks;
  report.certificate = preflight.certificate;
  const cert = preflight.certificate;
  if (cert) {
    core.info(`Certificate: ${cert.subject}, issued by ${cert.issuer}`);
    core.info(`  SHA-256 fingerprint ${cert.fingerprint}`);
    core.info(`  valid from ${cert.notBefore.toISOString()} until ${cert.notAfter.toISOString()}`);
  }
  for (const check of preflight.checks) annotate(check);
  const passed = preflight.checks.filter((c) => c.status === 'pass').length;
  const failed = preflight.checks.filter((c) => c.status === 'fail');
  const warnings = preflight.checks.filter((c) => c.status === 'warning').length;
  core.info(`Preflight: ${passed} of ${preflight.checks.length} checks pass; ${failed.length} fail, ${warnings} warn.`);
  if (failed.length === 0) return true;
  report.failure = `${failed.length === 1 ? 'the check' : `${failed.length} checks`} ${failed.map((c) => c.name).join(', ')} failed; nothing was sent to OpenAI.`;
  core.info(`Stopped: ${report.failure} Fix the certificate and run again.`);
  process.exitCode = core.ExitCode.Failure;
  return false;
}

function annotate(check: Check): void {
  const text = check.hint ? `${check.message} ${check.hint}` : check.message;
  if (check.status === 'fail') core.error(text, { title: check.name });
  else if (check.status === 'warning') core.warning(text, { title: check.name });
}

function logPlan(report: RunReport): void {
  const plan = report.plan;
  if (!plan) return;
  core.info(`The organization holds ${plan.organization.length} certificate(s).`);
  for (const scope of plan.scopes) {
    const active = scope.activeBefore.map((c) => c.id).join(', ') || 'none';
    core.info(
      `${scope.scope}: active now ${active}; ${scope.activate ? 'will activate the certificate' : 'already active'}${scope.retire.length ? `; will retire ${scope.retire.map((c) => c.id).join(', ')}` : ''}.`,
    );
  }
}

async function writeReport(report: RunReport, settings: Settings | undefined): Promise<void> {
  setOutputs(computeOutputs(report));
  if (!report.failure) core.info(headline(report));
  const markdown = renderSummary(report);
  await writeSummary(markdown);
  if (settings?.commentOnPr) {
    const { commentOnPullRequest } = await import('./report/comment.js');
    await commentOnPullRequest(markdown, settings.githubToken);
  }
}
