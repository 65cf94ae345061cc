import type { StoredCertificate } from '../api/certificates.js';
import type { Outcome } from '../apply.js';
import type { Check } from '../certificate/checks.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import type { Plan } from '../plan.js';

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
  outcome: Outcome;
  /** The failure that ended the run, as shown to the user. */
  failure: string | undefined;
}

/** The certificate the outputs describe: the stored one when there is one, else the local one. */
export function storedCertificate(report: RunReport): StoredCertificate | undefined {
  if (report.outcome.certificate) return report.outcome.certificate;
  const target = report.plan?.target;
  return target && target.kind !== 'upload' ? target.certificate : undefined;
}

export function validity(report: RunReport): { validAt: number | undefined; expiresAt: number | undefined } {
  const stored = storedCertificate(report);
  const local = report.certificate;
  return {
    validAt: stored?.validAt ?? (local ? Math.floor(local.notBefore.getTime() / 1000) : undefined),
    expiresAt: stored?.expiresAt ?? (local ? Math.floor(local.notAfter.getTime() / 1000) : undefined),
  };
}

export function daysUntil(expiresAt: number, now: Date): number {
  return Math.floor((expiresAt * 1000 - now.getTime()) / 86_400_000);
}

export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
