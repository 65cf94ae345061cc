import type { StoredCertificate } from '../api/reader.js';
import type { Journal } from '../rotation/journal.js';
import type { Check } from '../certificate/checks.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import type { CanaryOutline } from '../rotation/canary.js';
import type { Plan } from '../rotation/decide.js';
import { seconds } from '../time.js';

/** Everything a run learned, for the outputs, the job summary and the pull-request comment. */
export interface RunReport {
  now: Date;
  dryRun: boolean;
  /** True when nothing was sent at all (a dry run without an admin key). */
  offline: boolean;
  requestedName: string | undefined;
  checks: Check[];
  certificate: CertificateInfo | undefined;
  plan: Plan | undefined;
  /** What the run did (and the warnings the summary repeats), written as it went. */
  outcome: Journal;
  /** The failure that ended the run, as shown to the user. */
  failure: string | undefined;
  /** Staged rollout: the canary's stages as planned (what the run did is in `outcome.canary`). */
  canary?: CanaryOutline | undefined;
}

/** The certificate the outputs describe: the stored one when there is one, else the local one. */
export function storedCertificate(report: RunReport): StoredCertificate | undefined {
  if (report.outcome.certificate) return report.outcome.certificate;
  const target = report.plan?.target;
  return target && target.kind !== 'upload' ? target.certificate : undefined;
}

/** The validity the outputs report: the API's dates for the stored certificate, else the certificate's own. */
export function validity(report: RunReport): { validAt: number | undefined; expiresAt: number | undefined } {
  const stored = storedCertificate(report);
  const local = report.certificate;
  return {
    validAt: stored?.validAt ?? (local ? seconds(local.notBefore) : undefined),
    expiresAt: stored?.expiresAt ?? (local ? seconds(local.notAfter) : undefined),
  };
}
