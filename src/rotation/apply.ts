import { APIError } from 'openai';
import { type CertificateApi } from '../api/certificates.js';
import { ORGANIZATION, describeScope, type ListedCertificate, type Scope, type StoredCertificate } from '../api/reader.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { mapLimit } from '../concurrency.js';
import { ActionError } from '../errors.js';
import { PROJECT_CONCURRENCY, type Plan } from './plan.js';
import type { RetryOptions } from './retry.js';
import { uploadOnce } from './upload.js';
import { deactivate, deleteCertificate } from './writes.js';

/** What the run did, filled in as it goes, so that a failure half-way still reports what was done. */
export interface Outcome {
  certificate: StoredCertificate | undefined;
  uploaded: boolean;
  /** This run's own copy, deleted because a racing run's older identical copy is kept. */
  duplicates: string[];
  /** Requested scopes where the certificate is active now (activated by this run or already). */
  activeIn: Scope[];
  /** Scopes this run activated it in. */
  activated: Scope[];
  retired: Array<{ scope: Scope; id: string }>;
  /** Deleted by delete-expired. */
  deleted: string[];
  /** Deletions the API refused because the certificate is still in use somewhere. */
  keptInUse: string[];
}

export function emptyOutcome(): Outcome {
  return { certificate: undefined, uploaded: false, duplicates: [], activeIn: [], activated: [], retired: [], deleted: [], keptInUse: [] };
}

export interface ApplyOptions {
  retry: RetryOptions;
  log: (line: string) => void;
  notice: (line: string) => void;
  warning: (line: string) => void;
  name: string | undefined;
}

/**
 * Carries out a plan in the safe order: make room, upload (or reuse), activate in every scope, and
 * only then retire the previous certificates and delete expired ones. A scope never loses its last
 * active CA: nothing is deactivated anywhere unless every activation succeeded.
 */
export async function applyPlan(
  api: CertificateApi,
  plan: Plan,
  certificate: CertificateInfo,
  options: ApplyOptions,
  outcome: Outcome,
): Promise<void> {
  await deleteExpired(api, plan.deleteFirst, options, outcome, 'to make room under the 50-certificate cap');

  let target: StoredCertificate;
  if (plan.target.kind === 'upload') {
    const upload = await uploadOnce(api, certificate, options.name, new Set(plan.organization.map((c) => c.id)), options);
    target = upload.certificate;
    outcome.uploaded = upload.uploaded;
    outcome.duplicates.push(...upload.removed);
    if (!upload.uploaded) reportNameKept(target, options);
  } else {
    target = plan.target.certificate;
    if (plan.target.kind === 'reuse') {
      options.log(`The organization already holds this certificate as ${target.id}: reused, not uploaded again.`);
      reportNameKept(target, options);
    }
  }
  outcome.certificate = target;
  const id = target.id;

  const organization = plan.scopes.filter((s) => s.scope === ORGANIZATION);
  const projects = plan.scopes.filter((s) => s.scope !== ORGANIZATION);
  const activate = async (scope: Scope, needed: boolean): Promise<void> => {
    if (needed) {
      await api.toggle(scope, [id], true);
      outcome.activated.push(scope);
      options.log(`Activated ${id} for ${describeScope(scope)}.`);
    } else {
      options.log(`${id} was already active for ${describeScope(scope)}.`);
    }
    outcome.activeIn.push(scope);
  };
  for (const scope of organization) await activate(scope.scope, scope.activate);
  await mapLimit(projects, PROJECT_CONCURRENCY, (scope) => activate(scope.scope, scope.activate));

  await mapLimit(
    plan.scopes.filter((s) => s.retire.length > 0),
    PROJECT_CONCURRENCY,
    async (scope) => {
      const ids = scope.retire.map((c) => c.id);
      await deactivate(api, scope.scope, ids, options.retry);
      for (const retired of ids) outcome.retired.push({ scope: scope.scope, id: retired });
      options.log(`Retired ${ids.join(', ')} for ${describeScope(scope.scope)} (same name "${plan.retireName}", replaced by ${id}).`);
    },
  );

  await deleteExpired(api, plan.deleteAfter, options, outcome, 'expired and inactive');
}

async function deleteExpired(
  api: CertificateApi,
  certificates: ListedCertificate[],
  options: ApplyOptions,
  outcome: Outcome,
  why: string,
): Promise<void> {
  for (const certificate of certificates) {
    const label = `${certificate.id}${certificate.name ? ` ("${certificate.name}")` : ''}`;
    try {
      if ((await deleteCertificate(api, certificate.id, options.retry)) === 'gone') {
        options.log(`${label} was already gone: deleted by someone else since the plan.`);
        continue;
      }
      outcome.deleted.push(certificate.id);
      options.log(`Deleted ${label}: ${why}.`);
    } catch (error) {
      const cause = error instanceof ActionError ? error.cause : error;
      if (!(cause instanceof APIError) || cause.code !== 'certificate_in_use') throw error;
      outcome.keptInUse.push(certificate.id);
      options.notice(
        `Kept ${certificate.id}${certificate.name ? ` ("${certificate.name}")` : ''}: it has expired, but OpenAI reports it still active in a project (certificate_in_use). Deactivate it there to let it be deleted.`,
      );
    }
  }
}

/** A certificate this run did not store keeps the name it has: say so when another was asked for. */
function reportNameKept(stored: StoredCertificate, options: ApplyOptions): void {
  if (options.name && stored.name !== options.name) {
    options.notice(
      `${stored.id} keeps its name ${stored.name === null ? '(none)' : `"${stored.name}"`}; the name "${options.name}" was not applied. ` +
        'Rename it in the dashboard if you want the new name, or set reuse-existing: false to upload a copy under the new name.',
    );
  }
}
