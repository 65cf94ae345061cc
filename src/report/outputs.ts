import { canaryResult } from '../rotation/canary.js';
import { daysUntil, isoSeconds } from '../time.js';
import { storedCertificate, validity, type RunReport } from './model.js';

export const OUTPUT_NAMES = [
  'certificate-id',
  'name',
  'fingerprint',
  'valid-at',
  'expires-at',
  'expires-at-iso',
  'days-until-expiry',
  'uploaded',
  'activated',
  'retired',
  'deleted',
  'canary',
] as const;
type OutputName = (typeof OUTPUT_NAMES)[number];

/** Every output as a string (empty when unknown), so later steps can rely on each being set. */
export function computeOutputs(report: RunReport): Record<OutputName, string> {
  const stored = storedCertificate(report);
  const { validAt, expiresAt } = validity(report);
  const name = stored ? (stored.name ?? '') : (report.requestedName ?? '');
  return {
    'certificate-id': stored?.id ?? '',
    name,
    fingerprint: report.certificate?.fingerprint ?? '',
    'valid-at': validAt === undefined ? '' : String(validAt),
    'expires-at': expiresAt === undefined ? '' : String(expiresAt),
    'expires-at-iso': expiresAt === undefined ? '' : isoSeconds(expiresAt),
    'days-until-expiry': expiresAt === undefined ? '' : String(daysUntil(expiresAt, report.now)),
    uploaded: String(report.outcome.uploaded),
    activated: [...report.outcome.activeIn].join(','),
    retired: [...new Set(report.outcome.retired.map((r) => r.id))].join(','),
    deleted: report.outcome.deleted.join(','),
    canary: canaryResult(report.outcome.canary),
  };
}
