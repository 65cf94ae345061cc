import { describe, expect, it } from 'vitest';
import { emptyOutcome } from '../../src/rotation/apply.js';
import { decodeInput } from '../../src/certificate/decode.js';
import { inspectCertificate } from '../../src/certificate/inspect.js';
import type { RunReport } from '../../src/report/model.js';
import { computeOutputs, OUTPUT_NAMES } from '../../src/report/outputs.js';
import { cell } from '../../src/report/markdown.js';
import { headline, renderSummary } from '../../src/report/summary.js';
import { commentMarker } from '../../src/report/comment.js';
import { actionYml } from '../helpers/action.ts';
import { makeCa } from '../helpers/certs.ts';

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    now: new Date(),
    dryRun: false,
    offline: false,
    requestedName: 'corp',
    checks: [],
    certificate: undefined,
    plan: undefined,
    outcome: emptyOutcome(),
    cautions: [],
    failure: undefined,
    ...overrides,
  };
}

describe('outputs', () => {
  it('declares in action.yml exactly the outputs it sets', () => {
    expect([...OUTPUT_NAMES].sort()).toEqual(Object.keys(actionYml.outputs).sort());
  });

  it('come from the certificate itself in an offline dry run', () => {
    const ca = makeCa({ days: 10 });
    const certificate = inspectCertificate(decodeInput(ca.pem).blocks[0]!.der);
    const out = computeOutputs(report({ offline: true, dryRun: true, certificate }));
    expect(out).toMatchObject({
      'certificate-id': '',
      name: 'corp',
      fingerprint: ca.fingerprint,
      uploaded: 'false',
      'days-until-expiry': '9',
    });
    expect(out['expires-at']).toBe(String(Math.floor(ca.notAfter.getTime() / 1000)));
    expect(out['expires-at-iso']).toBe(ca.notAfter.toISOString().replace('.000Z', 'Z'));
  });

  it('come from the stored certificate after an upload', () => {
    const outcome = {
      ...emptyOutcome(),
      uploaded: true,
      activeIn: ['organization', 'proj_a'],
      retired: [
        { scope: 'organization', id: 'cert_old' },
        { scope: 'proj_a', id: 'cert_old' },
      ],
      deleted: ['cert_x'],
    };
    outcome.certificate = {
      id: 'cert_new',
      name: 'stored-name',
      createdAt: 1,
      validAt: 100,
      expiresAt: 86_400 * 3 + 100,
      content: undefined,
    };
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
});

describe('summary', () => {
  it('escapes what a certificate subject could smuggle into the Markdown table', () => {
    expect(cell('CN=a|b <img src=x onerror=alert(1)>\nO=c')).toBe('CN=a\\|b &lt;img src=x onerror=alert(1)&gt; O=c');
  });

  it('says what failed, or what a dry run would do', () => {
    expect(headline(report({ failure: 'the check x failed' }))).toBe('❌ Failed: the check x failed');
    expect(headline(report({ offline: true, dryRun: true }))).toMatch(/nothing was sent/);
    const plan = {
      target: { kind: 'upload' as const },
      retireName: undefined,
      scopes: [],
      deleteFirst: [],
      deleteAfter: [],
      organization: [],
    };
    expect(headline(report({ dryRun: true, plan }))).toBe('🧪 Dry run: would upload the certificate. Nothing was written.');
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
