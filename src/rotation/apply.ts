import { APIError } from 'openai';
import {
  ORGANIZATION,
  describeScope,
  type CertificateApi,
  type ListedCertificate,
  type Scope,
  type StoredCertificate,
} from '../api/certificates.js';
import { findIdentical } from './identical.js';
import { uploadWithoutDuplicates, type RetryOptions } from './upload.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { mapLimit } from '../concurrency.js';
import { ActionError } from '../errors.js';
import { PROJECT_CONCURRENCY, type Plan } from './plan.js';

/** What the run did, filled in as it goes, so that a failure half-way still reports what was done. */
export interface Outcome {
  certificate: StoredCertificate | undefined;
  uploaded: boolean;
  /** Requested scopes where the certificate is active now (activated by this run or already). */
  activeIn: Scope[];
  /** Scopes this run activated it in. */
  activated: Scope[];
  retired: Array<{ scope: Scope; id: string }>;
  deleted: string[];
  /** Deletions the API refused because the certificate is still in use somewhere. */
  keptInUse: string[];
}

export function emptyOutcome(): Outcome {
  return { certificate: undefined, uploaded: false, activeIn: [], activated: [], retired: [], deleted: [], keptInUse: [] };
}

export interface ApplyOptions {
  retry: RetryOptions;
  log: (line: string) => void;
  notice: (line: string) => void;
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

  if (plan.target.kind === 'upload') {
    // Only a certificate that was not there before this run can be this run's lost upload: with
    // reuse-existing off, an older identical one must not be taken for it.
    const before = new Set(plan.organization.map((c) => c.id));
    const findStored = async (): Promise<StoredCertificate | undefined> =>
      findIdentical(
        api,
        certificate,
        (await api.listScope(ORGANIZATION)).filter((c) => !before.has(c.id)),
      );
    const result = await uploadWithoutDuplicates(api, certificate, options.name, findStored, options.retry);
    outcome.certificate = result.certificate;
    outcome.uploaded = true;
    options.log(`Uploaded ${result.certificate.id}${result.attempts > 1 ? ` (after ${result.attempts} attempts)` : ''}.`);
  } else {
    outcome.certificate = plan.target.certificate;
    if (plan.target.kind === 'reuse') reportReuse(plan.target.certificate, options);
  }
  const id = outcome.certificate.id;

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
      await api.toggle(scope.scope, ids, false);
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
    try {
      await api.delete(certificate.id);
      outcome.deleted.push(certificate.id);
      options.log(`Deleted ${certificate.id}${certificate.name ? ` ("${certificate.name}")` : ''}: ${why}.`);
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

function reportReuse(stored: StoredCertificate, options: ApplyOptions): void {
  options.log(`The organization already holds this certificate as ${stored.id}: reused, not uploaded again.`);
  if (options.name && stored.name !== options.name) {
    options.notice(
      `${stored.id} keeps its name ${stored.name === null ? '(none)' : `"${stored.name}"`}; the name "${options.name}" was not applied. ` +
        'Rename it in the dashboard if you want the new name, or set reuse-existing: false to upload a copy under the new name.',
    );
  }
}
