import { ORGANIZATION, type ListedCertificate } from '../api/reader.js';
import type { CheckStatus } from '../certificate/checks.js';
import { stages, type StageName } from '../rotation/canary.js';
import type { ScopePlan } from '../rotation/decide.js';
import { certificateLabel, scopeLabel } from '../wording.js';
import { cell } from './markdown.js';
import { computeOutputs } from './outputs.js';
import { isoSeconds } from '../time.js';
import { storedCertificate, validity, type RunReport } from './model.js';

const STATUS_ICON: Record<CheckStatus, string> = { pass: '✅ pass', fail: '❌ fail', warning: '⚠️ warning', 'not run': '➖ not run' };

/** One line saying what the run did (or would do). */
export function headline(report: RunReport): string {
  const out = report.outcome;
  const id = storedCertificate(report)?.id;
  if (report.failure) return `❌ Failed: ${report.failure}`;
  if (report.offline) return '🧪 Dry run without an admin key: local checks only, nothing was sent.';
  const target = report.plan?.target;
  if (report.dryRun) {
    const what = !target
      ? 'nothing'
      : target.kind === 'upload'
        ? 'upload the certificate'
        : target.kind === 'reuse'
          ? `reuse ${target.certificate.id} (same fingerprint)`
          : `use ${target.certificate.id}`;
    return `🧪 Dry run: would ${what}${describePlannedChanges(report)}. Nothing was written.`;
  }
  const parts = [
    out.uploaded ? `uploaded ${id}` : target?.kind === 'reuse' ? `reused ${id} (same fingerprint, not uploaded again)` : `used ${id}`,
  ];
  if (out.canary?.proof?.passed) parts.push(`proved it in the canary project ${out.canary.projectId} first`);
  if (out.activated.length) parts.push(`activated it for ${out.activated.map(scopeLabel).join(', ')}`);
  if (out.retired.length) parts.push(`retired ${[...new Set(out.retired.map((r) => r.id))].join(', ')}`);
  if (out.deleted.length) parts.push(`deleted ${out.deleted.join(', ')}`);
  return `✅ ${capitalise(parts.join('; '))}.`;
}

function describePlannedChanges(report: RunReport): string {
  const plan = report.plan;
  if (!plan) return '';
  const parts: string[] = [];
  const activate = plan.scopes.filter((s) => s.activate).map((s) => scopeLabel(s.scope));
  if (activate.length)
    parts.push(
      `activate it for ${activate.join(', ')}${report.canary ? ` in stages (the canary project ${report.canary.projectId} first, proven before the others)` : ''}`,
    );
  const retire = [...new Set(plan.scopes.flatMap((s) => s.retire.map((c) => c.id)))];
  if (retire.length) parts.push(`retire ${retire.join(', ')}`);
  const deletions = [...plan.deleteFirst, ...plan.deleteAfter].map((c) => c.id);
  if (deletions.length) parts.push(`delete ${deletions.join(', ')}`);
  return parts.length ? `, ${parts.join(', ')}` : '';
}

/** The job summary (and the body of the pull-request comment), in GitHub-flavoured Markdown. */
export function renderSummary(report: RunReport): string {
  const lines: string[] = ['## OpenAI mTLS certificate', '', cell(headline(report)), ''];
  const cautions = [...new Set(report.outcome.cautions)];
  if (cautions.length) lines.push(...cautions.map((c) => `> ⚠️ ${cell(c)}`), '');
  const cert = report.certificate;
  const outputs = computeOutputs(report);
  if (cert || outputs['certificate-id']) {
    const { validAt, expiresAt } = validity(report);
    lines.push('| | |', '|---|---|');
    const row = (key: string, value: string): void => void lines.push(`| ${key} | ${cell(value || '—')} |`);
    row('ID', outputs['certificate-id'] ? `\`${outputs['certificate-id']}\`` : report.dryRun ? '(not uploaded: dry run)' : '');
    row('Name', outputs.name);
    row('Subject', cert?.subject ?? '');
    row('Issuer', cert?.issuer ?? '');
    row('Fingerprint (SHA-256)', outputs.fingerprint ? `\`${outputs.fingerprint}\`` : '');
    row('Valid from', validAt === undefined ? '' : isoSeconds(validAt));
    row('Valid until', expiresAt === undefined ? '' : isoSeconds(expiresAt));
    row('Days left', outputs['days-until-expiry']);
    row('What the run did', whatItDid(report));
    lines.push('');
  }

  if (report.checks.length) {
    lines.push('### Checks', '', '| Check | Result | Details |', '|---|---|---|');
    for (const check of report.checks) {
      lines.push(
        `| \`${check.name}\` | ${STATUS_ICON[check.status]} | ${cell(check.status === 'pass' || check.status === 'not run' || !check.hint ? check.message : `${check.message} ${check.hint}`)} |`,
      );
    }
    lines.push('');
  }

  if (report.plan && report.plan.scopes.length) {
    const id = storedCertificate(report)?.id;
    lines.push('### Scopes', '', `| Scope | Active before | ${report.dryRun ? 'Planned' : 'Done'} | Active after |`, '|---|---|---|---|');
    for (const scope of report.plan.scopes) lines.push(scopeRow(scope, report, id));
    lines.push('');
  }

  if (report.canary && report.plan) lines.push(...stagesSection(report), '');

  const touched = touchedIds(report);
  if (touched.length) lines.push('### Certificates touched', '', ...touched.map((t) => `- ${t}`), '');
  return lines.join('\n');
}

function whatItDid(report: RunReport): string {
  if (report.offline) return 'local checks only (dry run, no admin key)';
  if (report.dryRun) return 'dry run: read only';
  if (report.outcome.uploaded) return 'uploaded';
  const target = report.plan?.target;
  if (target?.kind === 'reuse') return 'reused an identical certificate';
  if (target?.kind === 'existing') return 'used the existing certificate';
  return report.failure ? 'failed before uploading' : '';
}

function scopeRow(scope: ScopePlan, report: RunReport, id: string | undefined): string {
  const before = names(scope.activeBefore);
  const retiring = new Set(scope.retire.map((c) => c.id));
  const done = report.outcome;
  const actions: string[] = [];
  let after: string;
  if (report.dryRun) {
    if (scope.activate) actions.push('activate the certificate');
    if (retiring.size) actions.push(`retire ${[...retiring].join(', ')}`);
    const stays = scope.activeBefore.filter((c) => !retiring.has(c.id)).map((c) => c.id);
    after = [...(scope.activate ? [id ?? 'the new certificate'] : []), ...stays].join(', ');
  } else {
    const active = done.activeIn.has(scope.scope);
    if (done.activated.includes(scope.scope)) actions.push(`activated ${id}`);
    else if (active) actions.push('already active');
    const retired = done.retired.filter((r) => r.scope === scope.scope).map((r) => r.id);
    if (retired.length) actions.push(`retired ${retired.join(', ')}`);
    const stays = scope.activeBefore.filter((c) => !retired.includes(c.id) && c.id !== id).map((c) => c.id);
    after = [...(active && id ? [id] : []), ...stays].join(', ');
  }
  const label =
    scope.scope === ORGANIZATION
      ? 'organization'
      : `project \`${scope.scope}\`${scope.scope === report.plan?.canaryProject ? ' (canary)' : ''}`;
  return `| ${label} | ${cell(before || 'none')} | ${cell(actions.join('; ') || 'nothing')} | ${cell(after || 'none')} |`;
}

const STAGE_ICON = {
  done: '✅ done',
  failed: '❌ failed',
  stopped: '⚠️ the run failed at or after this stage (see above)',
  'not reached': '➖ not reached',
  planned: '🧪 planned',
} as const;

/** The staged rollout: each stage and where the run got to, then the proof request's result. */
function stagesSection(report: RunReport): string[] {
  const outline = report.canary!;
  const record = report.outcome.canary;
  const lines = ['### Staged rollout', '', `| Stage | ${report.dryRun ? 'Planned' : 'Result'} |`, '|---|---|'];
  const status = (stage: StageName): keyof typeof STAGE_ICON => {
    if (report.dryRun) return 'planned';
    const proven = Boolean(record?.proof?.passed);
    const finished = proven && record!.widened && record!.organizationProof !== 'failed';
    switch (stage) {
      case 'target':
        return report.outcome.certificate ? 'done' : report.failure ? 'failed' : 'not reached';
      case 'canary':
        return record?.activated ? 'done' : record ? 'failed' : 'not reached';
      case 'proof':
        return record?.proof ? (record.proof.passed ? 'done' : 'failed') : 'not reached';
      case 'widen':
        return record?.widened ? 'done' : proven ? 'failed' : 'not reached';
      case 'organization':
        return record?.organizationProof === 'passed' ? 'done' : record?.organizationProof === 'failed' ? 'failed' : 'not reached';
      case 'retire':
        return finished ? (report.failure ? 'stopped' : 'done') : 'not reached';
    }
  };
  for (const [i, { stage, text }] of stages(report.plan!, outline).entries())
    lines.push(`| ${i + 1}. ${cell(text)} | ${STAGE_ICON[status(stage)]} |`);
  const proof = record?.proof;
  if (proof) {
    const took = `${proof.attempts} attempt${proof.attempts === 1 ? '' : 's'} in ${(proof.elapsedMs / 1000).toFixed(1)} s`;
    lines.push('', `Proof request on \`${proof.host}\`: ${proof.passed ? `✅ passed after ${took}` : `❌ failed after ${took}`}.`);
    const last = proof.lastError;
    if (last) {
      const what = [last.status, last.code].filter((x) => x !== undefined).join(' ');
      lines.push(
        `Last error: ${cell(`${what ? `${what}: ` : ''}${last.message || last.kind}`)}${last.requestId ? ` (request id \`${last.requestId}\`)` : ''}.`,
      );
    }
  } else if (report.dryRun) {
    lines.push('', 'Dry run: no proof request was sent.');
  }
  return lines;
}

function touchedIds(report: RunReport): string[] {
  const out = report.outcome;
  const lines: string[] = [];
  const id = storedCertificate(report)?.id;
  if (id && !report.dryRun)
    lines.push(
      `\`${id}\`: ${out.uploaded ? 'uploaded' : 'used'}${out.activated.length ? `, activated for ${out.activated.join(', ')}` : ''}`,
    );
  for (const duplicate of out.duplicates)
    lines.push(`\`${duplicate}\`: deleted, a duplicate: the oldest identical copy${id ? ` (\`${id}\`)` : ''} is kept`);
  if (out.lostAnswer && !out.uploaded && !report.dryRun)
    lines.push("An upload answer was lost: the copy kept may be this run's or a racing run's, so `uploaded` is false.");
  const retired = new Map<string, string[]>();
  for (const r of out.retired) retired.set(r.id, [...(retired.get(r.id) ?? []), scopeLabel(r.scope)]);
  for (const [retiredId, scopes] of retired) lines.push(`\`${retiredId}\`: deactivated for ${scopes.join(', ')}`);
  for (const deleted of out.deleted) lines.push(`\`${deleted}\`: deleted`);
  for (const kept of out.keptInUse) lines.push(`\`${kept}\`: expired but kept (still in use)`);
  return lines;
}

function names(certificates: ListedCertificate[]): string {
  return certificates.map(certificateLabel).join(', ');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
