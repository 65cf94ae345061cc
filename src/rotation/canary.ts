/**
 * The staged rollout (issue 24): with a canary project, the new CA is activated there alone and proven with
 * one real request through the mTLS host (api/proof.ts) before any other scope is activated; when the
 * organization is activated and the admin calls present a client certificate, reading the organization back
 * through the mTLS host is the organization's proof. apply.ts retires only after all of this has passed. A
 * failed proof stops the run: nothing widens, nothing is retired, and the new CA stays active in the canary
 * project beside whatever was active there before.
 */
import { ApiError, hostOf } from '../api/errors.js';
import { proveCanary, type ProofResult } from '../api/proof.js';
import { ORGANIZATION, type Scope, type StoredCertificate } from '../api/reader.js';
import type { Canary } from '../canary/settings.js';
import { mapLimit } from '../concurrency.js';
import { ActionError } from '../errors.js';
import { PROJECT_CONCURRENCY } from '../limits.js';
import { scopeLabel } from '../wording.js';
import type { ApplyContext } from './apply.js';
import type { Plan, Request, ScopePlan, Target } from './decide.js';

/** What the staged flow needs beyond the ApplyContext: the canary inputs, and how the admin calls are made. */
export interface CanaryRun {
  canary: Canary;
  /** mtls-base-url: where the proof request goes. */
  mtlsBaseURL: string;
  /** The admin calls present client-certificate (so they go through the mTLS host too). */
  adminThroughMtls: boolean;
  /** Where the proxy variables are read for the proof request. */
  env?: NodeJS.ProcessEnv;
}

/** What the run did in the staged flow, as it went: recorded in the Journal. */
export interface CanaryRecord {
  projectId: string;
  /** The new CA is active in the canary project (activated by this run, or found active). */
  activated: boolean;
  /** The proof request's result, once it has run. */
  proof: ProofResult | undefined;
  /** The other scopes were activated. */
  widened: boolean;
  /** The organization read back through the mTLS host: undefined when that stage does not apply or was not reached. */
  organizationProof: 'passed' | 'failed' | undefined;
}

/** What the summary and the dry run say about the stages, known before anything is sent. */
export interface CanaryOutline {
  projectId: string;
  /** The host the proof request goes to. */
  host: string;
  timeoutMs: number;
  /** The organization is activated and the admin calls go through the mTLS host: its read-back is its proof. */
  organizationProof: boolean;
}

/** The request the decisions read, with the canary project counted as a scope to activate, first. */
export function withCanary<R extends Request>(request: R, canary: Canary | undefined): R {
  if (!canary) return request;
  const others = request.activateProjects.filter((p) => p !== canary.projectId);
  return { ...request, activateProjects: [canary.projectId, ...others], canaryProject: canary.projectId };
}

export function outline(canary: Canary, how: { mtlsBaseURL: string; organization: boolean; adminThroughMtls: boolean }): CanaryOutline {
  const { mtlsBaseURL, organization, adminThroughMtls } = how;
  return {
    projectId: canary.projectId,
    host: hostOf(mtlsBaseURL),
    timeoutMs: canary.timeoutMs,
    organizationProof: organization && adminThroughMtls,
  };
}

export type StageName = 'target' | 'canary' | 'proof' | 'widen' | 'organization' | 'retire';

/** The stages of a staged rollout, in order, in words: what the dry run lists and the summary shows. */
export function stages(plan: Plan, o: CanaryOutline): Array<{ stage: StageName; text: string }> {
  const list: Array<{ stage: StageName; text: string }> = [{ stage: 'target', text: targetWords(plan.target) }];
  list.push({ stage: 'canary', text: `activate it in the canary project ${o.projectId} only` });
  list.push({
    stage: 'proof',
    text: `prove it: GET /v1/models on ${o.host} with canary-api-key, presenting canary-client-certificate, retried with back-off until it passes or canary-timeout-seconds (${o.timeoutMs / 1000} s) runs out`,
  });
  const others = plan.scopes.filter((s) => s.scope !== o.projectId).map((s) => scopeLabel(s.scope));
  if (others.length) list.push({ stage: 'widen', text: `then activate it for ${others.join(', ')}` });
  if (o.organizationProof)
    list.push({
      stage: 'organization',
      text: `prove the organization: read it back through ${o.host}, presenting client-certificate`,
    });
  const retire = [...new Set(plan.scopes.flatMap((s) => s.retire.map((c) => c.id)))];
  if (plan.retireName !== undefined)
    list.push({
      stage: 'retire',
      text: retire.length ? `only then retire ${retire.join(', ')}` : 'only then retire (nothing to retire as read now)',
    });
  return list;
}

function targetWords(target: Target): string {
  if (target.kind === 'upload') return 'upload the certificate';
  if (target.kind === 'reuse') return `reuse ${target.certificate.id} (same fingerprint)`;
  return `use ${target.certificate.id}`;
}

/** The `canary` output: the proof (and the organization's, when it applies) passed, failed, or did not run. */
export function canaryResult(record: CanaryRecord | undefined): 'passed' | 'failed' | 'skipped' {
  if (!record?.proof) return 'skipped';
  if (!record.proof.passed || record.organizationProof === 'failed') return 'failed';
  return 'passed';
}

/**
 * Activates the target in stages: the canary project, the proof request, the other scopes (organization
 * first), then the organization's read-back when it applies. Throws when a proof fails, before anything
 * widens (or, for the organization's proof, before anything is retired).
 */
export async function activateInStages(
  stage: { plan: Plan; target: StoredCertificate },
  activateIn: (scope: Scope, needed: boolean) => Promise<void>,
  ctx: ApplyContext,
): Promise<void> {
  const { plan, target } = stage;
  const run = ctx.canary;
  const projectId = plan.canaryProject;
  const canaryScope = plan.scopes.find((s) => s.scope === projectId);
  if (!run || projectId === undefined || !canaryScope) {
    throw new ActionError('The staged rollout was planned without its canary project or canary inputs.', {
      title: 'canary',
      hint: 'This is a bug in the action: please report it with the log of this run.',
    });
  }
  const { canary } = run;
  const o = outline(canary, {
    mtlsBaseURL: run.mtlsBaseURL,
    organization: plan.scopes.some((s) => s.scope === ORGANIZATION),
    adminThroughMtls: run.adminThroughMtls,
  });
  const record: CanaryRecord = { projectId, activated: false, proof: undefined, widened: false, organizationProof: undefined };
  ctx.journal.canary = record;
  const { log } = ctx;

  log.info(
    `Staged rollout, canary stage: ${canaryScope.activate ? `activating ${target.id} in the canary project ${projectId} only` : `${target.id} is already active in the canary project ${projectId} (an earlier run activated it): proving it again`}.`,
  );
  await activateIn(projectId, canaryScope.activate);
  record.activated = true;

  log.info(
    `Staged rollout, proof stage: the proof request, GET /v1/models on ${o.host} with canary-api-key, presenting canary-client-certificate (up to ${o.timeoutMs / 1000} s).`,
  );
  const proof = await proveCanary(
    {
      mtlsBaseURL: run.mtlsBaseURL,
      apiKey: canary.apiKey,
      clientCertificate: canary.clientCertificate,
      clientKey: canary.clientKey,
      timeoutMs: canary.timeoutMs,
    },
    { now: () => ctx.now().getTime(), sleep: ctx.retry.sleep, log, ...(run.env ? { env: run.env } : {}) },
  );
  record.proof = proof;
  if (!proof.passed) throw proofFailed({ plan, target, projectId }, proof);
  log.info(`The canary proof passed after ${attempts(proof.attempts)} in ${seconds(proof.elapsedMs)}: widening.`);

  const others = plan.scopes.filter((s) => s.scope !== projectId);
  const organization = others.filter((s) => s.scope === ORGANIZATION);
  const projects = others.filter((s) => s.scope !== ORGANIZATION);
  if (others.length)
    log.info(`Staged rollout, widening: activating ${target.id} for ${others.map((s) => scopeLabel(s.scope)).join(', ')}.`);
  for (const scope of organization) await activateIn(scope.scope, scope.activate);
  await mapLimit(projects, PROJECT_CONCURRENCY, (scope: ScopePlan) => activateIn(scope.scope, scope.activate));
  record.widened = true;

  if (o.organizationProof) await proveOrganization({ target, host: o.host, record }, ctx);
}

/**
 * The organization's proof: the admin calls present client-certificate, so reading the organization back
 * through the mTLS host after the activation shows that the host still accepts them there.
 */
async function proveOrganization(
  proof: { target: StoredCertificate; host: string; record: CanaryRecord },
  ctx: ApplyContext,
): Promise<void> {
  const { target, host, record } = proof;
  let listed;
  try {
    listed = await ctx.api.listScope(ORGANIZATION);
  } catch (error) {
    record.organizationProof = 'failed';
    if (!(error instanceof ActionError)) throw error;
    const message = `The organization proof failed: reading the organization back through ${host}, presenting client-certificate, after activating ${target.id} for it: ${error.message} Nothing was retired.`;
    throw error instanceof ApiError ? error.restate(message, error.hint) : new ActionError(message, { title: 'canary', hint: error.hint });
  }
  if (!listed.some((c) => c.id === target.id && c.active)) {
    record.organizationProof = 'failed';
    throw new ActionError(
      `The organization proof failed: read back through ${host}, the organization does not list ${target.id} active. Nothing was retired.`,
      { title: 'canary', hint: 'Check the organization in the dashboard, then run the action again.' },
    );
  }
  record.organizationProof = 'passed';
  ctx.log.info(
    `Staged rollout, organization proof: passed: the organization was read back through the mTLS host ${host}, presenting client-certificate, and lists ${target.id} active.`,
  );
}

function proofFailed(where: { plan: Plan; target: StoredCertificate; projectId: string }, proof: ProofResult): ActionError {
  const { plan, target, projectId } = where;
  const others = plan.scopes.filter((s) => s.scope !== projectId).map((s) => scopeLabel(s.scope));
  const before = (plan.scopes.find((s) => s.scope === projectId)?.activeBefore ?? []).filter((c) => c.id !== target.id).map((c) => c.id);
  const message =
    `The canary proof failed after ${attempts(proof.attempts)} in ${seconds(proof.elapsedMs)}. ${proof.explanation ?? ''} ` +
    `Nothing was widened and nothing was retired: ${target.id} stays active in the canary project ${projectId}` +
    `${before.length ? ` beside ${before.join(', ')}, still active there` : ''}` +
    `${others.length ? `, and ${others.join(', ')} ${others.length === 1 ? 'was' : 'were'} not touched` : ''}.`;
  const hint =
    `Fix the cause and run the action again: with reuse-existing: true (the default) it finds ${target.id} instead of uploading it again, finds it active in ${projectId}, and sends the proof request again before it widens. ` +
    `Or back out: deactivate ${target.id} in the canary project (POST /v1/organization/projects/${projectId}/certificates/deactivate with {"certificate_ids": ["${target.id}"]}, an Admin API key call).`;
  return new ActionError(message.replace(/\s+/g, ' ').trim(), { title: 'canary', hint });
}

function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
