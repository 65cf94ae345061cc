import { type CertificateApi } from '../api/certificates.js';
import { ORGANIZATION, type ListedCertificate, type Scope, type StoredCertificate } from '../api/reader.js';
import { findIdentical } from './identical.js';
import { mapLimit } from '../concurrency.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import type { Settings } from '../inputs/settings.js';

/** OpenAI's cap on certificates per organization. */
export const MAX_CERTIFICATES = 50;
/** How many project calls run at once. */
export const PROJECT_CONCURRENCY = 8;

/** What happens to the certificate itself. */
export type Target =
  { kind: 'upload' } | { kind: 'reuse'; certificate: StoredCertificate } | { kind: 'existing'; certificate: StoredCertificate };

export interface ScopePlan {
  scope: Scope;
  /** Certificates active in the scope before the run. */
  activeBefore: ListedCertificate[];
  /** The target must be activated here (it is not active yet). */
  activate: boolean;
  /** Other certificates with the same name, active here, to deactivate once the target is active. */
  retire: ListedCertificate[];
}

export interface Plan {
  target: Target;
  /** The name retire-previous matches, when it is on. */
  retireName: string | undefined;
  scopes: ScopePlan[];
  /** Expired, inactive certificates deleted before the upload, to make room under the cap. */
  deleteFirst: ListedCertificate[];
  /** Expired, inactive certificates deleted at the end. */
  deleteAfter: ListedCertificate[];
  /** The organization's certificates before the run. */
  organization: ListedCertificate[];
}

/**
 * Reads the organization (one list) and each requested project (one list each, which also proves the
 * project exists), and decides everything before anything is written.
 */
export async function makePlan(
  api: CertificateApi,
  settings: Settings,
  certificate: CertificateInfo,
  existing: StoredCertificate | undefined,
  now: Date,
): Promise<Plan> {
  const [organization, projectLists] = await Promise.all([
    api.listScope(ORGANIZATION),
    mapLimit(settings.activateProjects, PROJECT_CONCURRENCY, (project) => api.listScope(project)),
  ]);

  let target: Target;
  if (existing) target = { kind: 'existing', certificate: existing };
  else {
    const identical = settings.reuseExisting ? await findIdentical(api, certificate, organization) : undefined;
    target = identical ? { kind: 'reuse', certificate: identical } : { kind: 'upload' };
  }
  const targetId = target.kind === 'upload' ? undefined : target.certificate.id;
  const retireName = settings.retirePrevious
    ? (settings.name ?? (target.kind === 'upload' ? undefined : target.certificate.name) ?? undefined)
    : undefined;
  if (settings.retirePrevious && !retireName) {
    throw new ActionError(`retire-previous is on, but certificate ${targetId} has no name to match.`, {
      title: 'input retire-previous',
      hint: 'Set name: the action retires only active certificates with that name.',
    });
  }

  const scopeLists: Array<[Scope, ListedCertificate[]]> = [];
  if (settings.activateOrganization) scopeLists.push([ORGANIZATION, organization]);
  settings.activateProjects.forEach((project, i) => scopeLists.push([project, projectLists[i] ?? []]));
  const scopes = scopeLists.map(([scope, listed]): ScopePlan => {
    const activeBefore = listed.filter((c) => c.active);
    return {
      scope,
      activeBefore,
      activate: !activeBefore.some((c) => c.id === targetId),
      retire: retireName ? activeBefore.filter((c) => c.id !== targetId && c.name === retireName) : [],
    };
  });

  const expired = settings.deleteExpired ? deletable(organization, projectLists, targetId, now) : [];
  let deleteFirst: ListedCertificate[] = [];
  if (target.kind === 'upload' && organization.length >= MAX_CERTIFICATES) {
    if (organization.length - expired.length >= MAX_CERTIFICATES)
      throw fullOrganization(organization.length, settings.deleteExpired, expired.length);
    deleteFirst = expired;
  }
  const deleteAfter = expired.filter((c) => !deleteFirst.includes(c));
  return { target, retireName, scopes, deleteFirst, deleteAfter, organization };
}

/** Expired certificates that are inactive for the organization and every project that was listed. */
function deletable(
  organization: ListedCertificate[],
  projectLists: ListedCertificate[][],
  targetId: string | undefined,
  now: Date,
): ListedCertificate[] {
  const activeSomewhere = new Set(
    projectLists
      .flat()
      .filter((c) => c.active)
      .map((c) => c.id),
  );
  const nowSeconds = now.getTime() / 1000;
  return organization.filter(
    (c) => c.id !== targetId && !c.active && !activeSomewhere.has(c.id) && c.expiresAt !== undefined && c.expiresAt <= nowSeconds,
  );
}

function fullOrganization(count: number, deleteExpired: boolean, expired: number): ActionError {
  return new ActionError(
    `The organization already holds ${count} certificates, the most OpenAI allows (${MAX_CERTIFICATES}); nothing was uploaded.`,
    {
      title: 'certificate limit',
      hint: deleteExpired
        ? `Only ${expired} of them are expired and inactive, which is not enough to make room: delete certificates that are no longer used (deactivate them everywhere first).`
        : 'Delete certificates that are no longer used, or set delete-expired: true to delete expired, inactive ones first.',
    },
  );
}

/**
 * What organization-level activation does to later runs: OpenAI then enforces client certificates on
 * Admin API key requests, so a run without one is locked out (and calls later in this run may be too).
 */
export function lockoutCaution(settings: Pick<Settings, 'activateOrganization' | 'clientCertificate'>): string | undefined {
  if (!settings.activateOrganization || settings.clientCertificate) return undefined;
  return (
    'activate-organization is on and no client-certificate is given. Once a CA is active for the organization, OpenAI enforces client ' +
    'certificates on Admin API key requests: later runs of this action (and every other Admin API call) will need client-certificate and ' +
    'client-key (a client certificate that chains to an active CA, and its key, from secrets), and calls later in this run, such as ' +
    'retiring the previous CA, may be refused. Pass them now, or activate per project (activate-projects) instead.'
  );
}
