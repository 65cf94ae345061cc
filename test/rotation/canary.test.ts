/**
 * The staged rollout's pure parts: the canary project as a scope (settings, request, plan order), the stages
 * in words, the `canary` output and the summary's stage table. The flow itself runs end to end in
 * test/e2e/canary.test.ts.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ListedCertificate, StoredCertificate } from '../../src/api/reader.js';
import type { ProofResult } from '../../src/api/proof.js';
import { decodeInput } from '../../src/certificate/decode.js';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.js';
import { readSettings } from '../../src/inputs/settings.js';
import type { RunReport } from '../../src/report/model.js';
import { computeOutputs } from '../../src/report/outputs.js';
import { headline, renderSummary } from '../../src/report/summary.js';
import { canaryResult, outline, stages, withCanary, type CanaryRecord } from '../../src/rotation/canary.js';
import { decide, type Request, type State } from '../../src/rotation/decide.js';
import { Journal } from '../../src/rotation/journal.js';
import { seconds } from '../../src/time.js';
import { makeCa, makeLeaf } from '../helpers/certs.ts';
import { inputErrorOf, reader } from '../helpers/settings.ts';

const DAY = 86_400;
const CANARY_KEY = 'sk-proj-canary-wiring-unit-0001';
// Made once for the file, with openssl.
const ca = makeCa({ cn: 'Canary wiring CA' });
const leaf = makeLeaf(ca, 'canary-wiring');

let certificate: CertificateInfo;
let now: Date;
let t: number;
beforeAll(() => {
  certificate = inspectCertificate(decodeInput(ca.pem).blocks[0]!.der);
  now = new Date(certificate.notBefore.getTime() + 3_600_000);
  t = seconds(now);
});

const canaryInputs = {
  'canary-project': 'proj_canary',
  'canary-client-certificate': leaf.pem,
  'canary-client-key': leaf.keyPem,
  'canary-api-key': CANARY_KEY,
};

/** readSettings with the runner's add-mask lines caught. */
function settings(values: Record<string, string>) {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return readSettings(reader({ 'admin-api-key': 'sk-admin-abc', certificate: ca.pem, name: 'corp', ...values }), {});
  } finally {
    write.mockRestore();
  }
}

const old = (id: string): ListedCertificate => ({
  id,
  name: 'corp',
  createdAt: t - 100 * DAY,
  validAt: t - 100 * DAY,
  expiresAt: t + 100 * DAY,
  active: true,
});

const request = (overrides: Partial<Request> = {}): Request => ({
  name: 'corp',
  reuseExisting: true,
  retirePrevious: true,
  deleteExpired: false,
  activateOrganization: true,
  activateProjects: ['proj_a', 'proj_canary'],
  ...overrides,
});

function state(): State {
  const previous = old('cert_old');
  return {
    certificate,
    organization: [previous],
    projects: [
      ['proj_a', [previous]],
      ['proj_canary', [previous]],
    ],
    allProjectsRead: true,
    identical: [],
    existing: undefined,
  };
}

describe('the canary project as a scope', () => {
  it('readSettings reads the canary, and retire-previous counts the canary project as a scope', () => {
    const s = settings({ ...canaryInputs, 'retire-previous': 'true' });
    expect(s.canary?.projectId).toBe('proj_canary');
    expect(s.canary?.timeoutMs).toBe(120_000);
    expect(settings({}).canary).toBeUndefined();
    const error = inputErrorOf(() => settings({ 'retire-previous': 'true' }));
    expect(error.title).toBe('input retire-previous');
    expect(error.hint).toMatch(/canary-project/);
  });

  it('withCanary lists the canary project first, once, and names it; without a canary the request is unchanged', () => {
    const canary = settings(canaryInputs).canary!;
    expect(withCanary(request({ activateProjects: ['proj_a', 'proj_canary', 'proj_b'] }), canary)).toMatchObject({
      activateProjects: ['proj_canary', 'proj_a', 'proj_b'],
      canaryProject: 'proj_canary',
    });
    expect(withCanary(request({ activateProjects: [] }), canary).activateProjects).toEqual(['proj_canary']);
    const plain = request();
    expect(withCanary(plain, undefined)).toBe(plain);
  });

  it('decide plans the canary scope first, before the organization, and retires in it like in any scope', () => {
    const plan = decide(state(), request({ activateProjects: ['proj_a', 'proj_canary'], canaryProject: 'proj_canary' }), now);
    expect(plan.canaryProject).toBe('proj_canary');
    expect(plan.scopes.map((s) => [s.scope, s.activate, s.retire.map((c) => c.id)])).toEqual([
      ['proj_canary', true, ['cert_old']],
      ['organization', true, ['cert_old']],
      ['proj_a', true, ['cert_old']],
    ]);
    const without = decide(state(), request(), now);
    expect(without.canaryProject).toBeUndefined();
    expect(without.scopes.map((s) => s.scope)).toEqual(['organization', 'proj_a', 'proj_canary']);
  });
});

describe('stages, the canary output and the summary', () => {
  const plan = () => decide(state(), request({ activateProjects: ['proj_canary', 'proj_a'], canaryProject: 'proj_canary' }), now);
  const o = () =>
    outline(settings(canaryInputs).canary!, { mtlsBaseURL: 'https://mtls.example.test/v1', organization: true, adminThroughMtls: true });
  const proof = (passed: boolean, attempts: number): ProofResult => ({
    passed,
    attempts,
    elapsedMs: 3200,
    host: 'mtls.example.test',
    ...(passed
      ? {}
      : {
          lastError: {
            kind: 'certificate_verification_failed',
            status: 401,
            code: 'certificate_verification_failed',
            message: 'does not chain',
            retryable: true,
          },
          explanation: 'explained',
        }),
  });
  const record = (overrides: Partial<CanaryRecord>): CanaryRecord => ({
    projectId: 'proj_canary',
    activated: true,
    proof: undefined,
    widened: false,
    organizationProof: undefined,
    ...overrides,
  });
  const report = (overrides: Partial<RunReport>): RunReport => ({
    now,
    dryRun: false,
    offline: false,
    requestedName: 'corp',
    checks: [],
    certificate,
    plan: plan(),
    outcome: new Journal(),
    failure: undefined,
    canary: o(),
    ...overrides,
  });

  it('lists the stages in order, with the organization proof only when the admin calls go through the mTLS host', () => {
    expect(stages(plan(), o()).map((s) => s.stage)).toEqual(['target', 'canary', 'proof', 'widen', 'organization', 'retire']);
    expect(stages(plan(), o())[3]!.text).toBe('then activate it for the organization, project proj_a');
    expect(stages(plan(), o())[5]!.text).toBe('only then retire cert_old');
    const noOrgProof = outline(settings(canaryInputs).canary!, {
      mtlsBaseURL: 'https://mtls.example.test/v1',
      organization: true,
      adminThroughMtls: false,
    });
    expect(stages(plan(), noOrgProof).map((s) => s.stage)).not.toContain('organization');
  });

  it('the canary output: skipped without a proof, failed when a proof failed, passed otherwise', () => {
    expect(canaryResult(undefined)).toBe('skipped');
    expect(canaryResult(record({}))).toBe('skipped');
    expect(canaryResult(record({ proof: proof(false, 3) }))).toBe('failed');
    expect(canaryResult(record({ proof: proof(true, 1), widened: true, organizationProof: 'failed' }))).toBe('failed');
    expect(canaryResult(record({ proof: proof(true, 1), widened: true, organizationProof: 'passed' }))).toBe('passed');
    const outcome = new Journal();
    outcome.canary = record({ proof: proof(false, 3) });
    expect(computeOutputs(report({ outcome })).canary).toBe('failed');
    expect(computeOutputs(report({ canary: undefined })).canary).toBe('skipped');
  });

  it('the summary shows each stage and the proof: a failed proof leaves the later stages not reached', () => {
    const outcome = new Journal();
    outcome.certificate = {
      id: 'cert_new',
      name: 'corp',
      createdAt: t,
      validAt: t,
      expiresAt: t + DAY,
      content: undefined,
    } satisfies StoredCertificate;
    outcome.canary = record({ proof: proof(false, 3) });
    const md = renderSummary(report({ outcome, failure: 'The canary proof failed.' }));
    expect(md).toContain('### Staged rollout');
    const rows = md.split('\n').filter((l) => /^\| \d\. /.test(l));
    expect(rows.map((r) => r.split('|')[2]!.trim())).toEqual([
      '✅ done',
      '✅ done',
      '❌ failed',
      '➖ not reached',
      '➖ not reached',
      '➖ not reached',
    ]);
    expect(md).toContain('Proof request on `mtls.example.test`: ❌ failed after 3 attempts in 3.2 s.');
    expect(md).toContain('Last error: 401 certificate_verification_failed: does not chain.');
    expect(md).toContain('project `proj_canary` (canary)');
  });

  it('a passed run: every stage done, and the headline says the canary proved it first', () => {
    const outcome = new Journal();
    outcome.certificate = {
      id: 'cert_new',
      name: 'corp',
      createdAt: t,
      validAt: t,
      expiresAt: t + DAY,
      content: undefined,
    } satisfies StoredCertificate;
    outcome.uploaded = true;
    outcome.activated.push('proj_canary', 'organization', 'proj_a');
    outcome.canary = record({ proof: proof(true, 2), widened: true, organizationProof: 'passed' });
    const r = report({ outcome });
    expect(renderSummary(r).match(/✅ done/g)).toHaveLength(6);
    expect(headline(r)).toMatch(/proved it in the canary project proj_canary first/);
  });

  it('a dry run: the stages planned, no proof request', () => {
    const md = renderSummary(report({ dryRun: true }));
    expect(md.match(/🧪 planned/g)).toHaveLength(6);
    expect(md).toContain('Dry run: no proof request was sent.');
    expect(headline(report({ dryRun: true }))).toMatch(/in stages \(the canary project proj_canary first/);
  });
});
