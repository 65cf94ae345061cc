import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredCertificate } from '../../src/api/reader.js';
import { decodeInput } from '../../src/certificate/decode.js';
import { inspectCertificate } from '../../src/certificate/inspect.js';
import { commentMarker } from '../../src/report/comment.js';
import { cell } from '../../src/report/markdown.js';
import type { RunReport } from '../../src/report/model.js';
import { computeOutputs, OUTPUT_NAMES } from '../../src/report/outputs.js';
import { headline, renderSummary } from '../../src/report/summary.js';
import type { Plan } from '../../src/rotation/decide.js';
import { Journal } from '../../src/rotation/journal.js';
import { actionYml } from '../helpers/action.ts';
import { makeCa, type MadeCertificate } from '../helpers/certs.ts';

let ca: MadeCertificate;
beforeAll(() => {
  ca = makeCa({ days: 10 });
});

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    now: new Date(),
    dryRun: false,
    offline: false,
    requestedName: 'corp',
    checks: [],
    certificate: undefined,
    plan: undefined,
    outcome: new Journal(),
    failure: undefined,
    ...overrides,
  };
}

const stored = (id: string, overrides: Partial<StoredCertificate> = {}): StoredCertificate => ({
  id,
  name: 'stored-name',
  createdAt: 1,
  validAt: 100,
  expiresAt: 86_400 * 3 + 100,
  content: undefined,
  ...overrides,
});

const plan = (overrides: Partial<Plan> = {}): Plan => ({
  target: { kind: 'upload' },
  retireName: undefined,
  scopes: [],
  deleteFirst: [],
  deleteAfter: [],
  duplicates: [],
  copies: [],
  before: [],
  retireHeld: undefined,
  advisories: [],
  ...overrides,
});

describe('outputs', () => {
  it('declares in action.yml exactly the outputs it sets', () => {
    expect([...OUTPUT_NAMES].sort()).toEqual(Object.keys(actionYml.outputs).sort());
  });

  it('come from the certificate itself in an offline dry run', () => {
    const certificate = inspectCertificate(decodeInput(ca.pem).blocks[0]!.der);
    const out = computeOutputs(report({ offline: true, dryRun: true, certificate }));
    expect(out).toMatchObject({
      'certificate-id': '',
      name: 'corp',
      fingerprint: ca.fingerprint,
      uploaded: 'false',
      activated: '',
      'days-until-expiry': '9',
    });
    expect(out['expires-at']).toBe(String(Math.floor(ca.notAfter.getTime() / 1000)));
    expect(out['expires-at-iso']).toBe(ca.notAfter.toISOString().replace('.000Z', 'Z'));
  });

  it('come from the stored certificate after an upload', () => {
    const outcome = new Journal();
    outcome.uploaded = true;
    outcome.activeIn = new Set(['organization', 'proj_a']);
    outcome.retired = [
      { scope: 'organization', id: 'cert_old' },
      { scope: 'proj_a', id: 'cert_old' },
    ];
    outcome.deleted = ['cert_x'];
    outcome.certificate = stored('cert_new');
    const out = computeOutputs(report({ outcome, now: new Date(100_000) }));
    expect(out).toMatchObject({
      'certificate-id': 'cert_new',
      name: 'stored-name',
      'valid-at': '100',
      'expires-at': '259300',
      activated: 'organization,proj_a',
      retired: 'cert_old',
      deleted: 'cert_x',
      uploaded: 'true',
    });
  });

  it('a reused or existing target from the plan is reported when the run failed before the journal named it', () => {
    const out = computeOutputs(report({ plan: plan({ target: { kind: 'reuse', certificate: stored('cert_reused', { name: null }) } }) }));
    expect(out).toMatchObject({ 'certificate-id': 'cert_reused', name: '', uploaded: 'false' });
  });
});

describe('summary', () => {
  it('escapes what a certificate subject could smuggle into the Markdown table', () => {
    expect(cell('CN=a|b <img src=x onerror=alert(1)>\nO=c')).toBe('CN=a\\|b &lt;img src=x onerror=alert(1)&gt; O=c');
  });

  it('says what failed, or what a dry run would do', () => {
    expect(headline(report({ failure: 'the check x failed' }))).toBe('❌ Failed: the check x failed');
    expect(headline(report({ offline: true, dryRun: true }))).toMatch(/nothing was sent/);
    expect(headline(report({ dryRun: true, plan: plan() }))).toBe('🧪 Dry run: would upload the certificate. Nothing was written.');
  });

  it('says what the run did, from the journal', () => {
    const outcome = new Journal();
    outcome.certificate = stored('cert_new');
    outcome.uploaded = true;
    outcome.activated = ['organization', 'proj_a'];
    outcome.activeIn = new Set(['organization', 'proj_a']);
    outcome.retired = [
      { scope: 'organization', id: 'cert_old' },
      { scope: 'proj_a', id: 'cert_old' },
    ];
    outcome.deleted = ['cert_x'];
    const r = report({ outcome, plan: plan() });
    expect(headline(r)).toBe('✅ Uploaded cert_new; activated it for the organization, project proj_a; retired cert_old; deleted cert_x.');
    const md = renderSummary(r);
    expect(md).toContain('- `cert_old`: deactivated for the organization, project proj_a');
    expect(md).toContain('- `cert_x`: deleted');
    expect(md).not.toMatch(/answer was lost/);
  });

  it('repeats each caution once, escaped, on one line', () => {
    const outcome = new Journal();
    outcome.cautions = ['Kept cert_a | twice\n<b>', 'Kept cert_a | twice\n<b>'];
    const md = renderSummary(report({ outcome }));
    expect(md.split('\n').filter((l) => l.startsWith('> ⚠️'))).toEqual(['> ⚠️ Kept cert_a \\| twice &lt;b&gt;']);
  });

  it('after a lost upload answer, says why uploaded is false', () => {
    const outcome = new Journal();
    outcome.certificate = stored('cert_kept');
    outcome.lostAnswer = true;
    const md = renderSummary(report({ outcome, plan: plan() }));
    expect(computeOutputs(report({ outcome })).uploaded).toBe('false');
    expect(md).toContain("An upload answer was lost: the copy kept may be this run's or a racing run's, so `uploaded` is false.");
  });

  it('never contradicts the uploaded output: an answer lost on an attempt before the one that stored it', () => {
    // uploadOnce: attempt 1 fails with a 500 (maybe applied), the look finds nothing, attempt 2 stores the
    // certificate and its id comes back: uploaded is true, and lostAnswer is true as well.
    const outcome = new Journal();
    outcome.certificate = stored('cert_own');
    outcome.uploaded = true;
    outcome.lostAnswer = true;
    const r = report({ outcome, plan: plan() });
    expect(computeOutputs(r).uploaded).toBe('true');
    expect(renderSummary(r)).not.toContain('`uploaded` is false');
  });

  it('lists every check with its status', () => {
    const md = renderSummary(
      report({
        checks: [
          { name: 'x509', status: 'pass', message: 'CN=x' },
          { name: 'key-usage', status: 'fail', message: 'lacks cRLSign.', hint: 'Reissue.' },
        ],
      }),
    );
    expect(md).toContain('| `x509` | ✅ pass | CN=x |');
    expect(md).toContain('| `key-usage` | ❌ fail | lacks cRLSign. Reissue. |');
  });

  it('marks the pull-request comment per job and step', () => {
    expect(commentMarker({ GITHUB_JOB: 'check', GITHUB_ACTION: 'ca' })).toBe('<!-- openai-mtls-certificate-action check/ca -->');
    expect(commentMarker({})).toBe('<!-- openai-mtls-certificate-action -->');
  });
});
