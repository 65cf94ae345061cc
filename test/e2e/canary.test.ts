/**
 * The staged rollout on the compiled action (issue 24), against the emulator acting as the mTLS host:
 * admin calls present an admin client certificate (a CA active for the organization, named "admin", so
 * retire-previous never touches it); the previous "corp" CA is active in three projects; the canary
 * project is proj_gamma, whose API key may list models through the mTLS host with a client certificate
 * that chains to a CA in effect for that project.
 */
import { describe, type ExpectStatic } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions, type RecordedRequest } from '../emulator/emulator.ts';
import { leaks, runAction, type ActionRun } from '../helpers/action.ts';
import { makeCa, makeLeaf } from '../helpers/certs.ts';
import { DAY, issue } from '../helpers/chain.ts';
import { serverTest as it, type Closable } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const CANARY_KEY = 'sk-proj-gamma-canary-test-key-0123456789';
const CANARY = 'proj_gamma';

// Made once for the file.
const serverCa = makeCa({ cn: 'Test server CA' });
const server = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
const adminCa = makeCa({ cn: 'Admin client CA' });
const adminLeaf = makeLeaf(adminCa, 'ci-admin');
const oldCa = await issue({ cn: 'Corp CA 2025', ca: true, notBefore: new Date(Date.now() - 30 * DAY) });
const newCa = makeCa({ cn: 'Corp CA 2026' });
const canaryLeaf = makeLeaf(newCa, 'canary-client');
const otherCa = makeCa({ cn: 'Some other CA' });
const otherLeaf = makeLeaf(otherCa, 'canary-from-another-ca');

const env = { NODE_EXTRA_CA_CERTS: serverCa.certPath };

async function mtlsHost(
  track: <T extends Closable>(server: T) => T,
  options: EmulatorOptions = {},
): Promise<{ emu: Emulator; oldId: string }> {
  const emu = track(
    await startEmulator({
      tls: { key: server.keyPem, cert: server.pem },
      requireClientCertificate: true,
      projectKeys: { [CANARY_KEY]: CANARY },
      ...options,
    }),
  );
  emu.addCertificate(adminCa.pem, { name: 'admin', activeOrg: true });
  const old = emu.addCertificate(oldCa.pem, { name: 'corp', activeProjects: ['proj_alpha', 'proj_beta', CANARY] });
  return { emu, oldId: old.id };
}

function inputs(emu: Emulator, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'admin-api-key': key,
    certificate: newCa.pem,
    name: 'corp',
    'mtls-base-url': emu.baseURL,
    'client-certificate': adminLeaf.pem,
    'client-key': adminLeaf.keyPem,
    'activate-projects': 'proj_alpha, proj_beta',
    'retire-previous': 'true',
    'canary-project': CANARY,
    'canary-client-certificate': canaryLeaf.pem,
    'canary-client-key': canaryLeaf.keyPem,
    'canary-api-key': CANARY_KEY,
    'canary-timeout-seconds': '30',
    ...overrides,
  };
}

const isActivation = (r: RecordedRequest, scope: string): boolean =>
  r.method === 'POST' &&
  r.path ===
    (scope === 'organization' ? '/v1/organization/certificates/activate' : `/v1/organization/projects/${scope}/certificates/activate`);
const isProof = (r: RecordedRequest): boolean => r.method === 'GET' && r.path === '/v1/models';
const isDeactivation = (r: RecordedRequest): boolean => r.method === 'POST' && r.path.endsWith('/deactivate');
const writes = (emu: Emulator): RecordedRequest[] => emu.requests.filter((r) => r.method !== 'GET');

function errorOf(expect: ExpectStatic, run: ActionRun) {
  const errors = run.annotations.filter((a) => a.level === 'error');
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

describe.concurrent('compiled action: staged rollout with a canary project', () => {
  it('a good canary: the canary project first, the proof on /v1/models, then the others, then retirement', async ({ track, expect }) => {
    const { emu, oldId } = await mtlsHost(track);
    const run = await runAction(inputs(emu, { 'activate-organization': 'true' }), { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = run.outputs['certificate-id']!;
    expect(id).toMatch(/^cert_/);
    expect(run.outputs.canary).toBe('passed');

    const at = (predicate: (r: RecordedRequest) => boolean): number => emu.requests.findIndex(predicate);
    const canaryActivation = at((r) => isActivation(r, CANARY));
    const proof = at(isProof);
    const firstOther = Math.min(...['organization', 'proj_alpha', 'proj_beta'].map((s) => at((r) => isActivation(r, s))));
    const firstRetirement = at(isDeactivation);
    expect(canaryActivation).toBeGreaterThan(-1);
    expect(proof).toBeGreaterThan(canaryActivation);
    expect(firstOther).toBeGreaterThan(proof);
    expect(firstRetirement).toBeGreaterThan(firstOther);
    // Every activation of a scope other than the canary comes after the proof.
    for (const scope of ['organization', 'proj_alpha', 'proj_beta'])
      expect(emu.requests.filter((r, i) => isActivation(r, scope) && i < proof)).toEqual([]);
    // The proof request presented the canary client certificate; the admin calls the admin one.
    expect(emu.requests[proof]!.clientCertSubject).toMatch(/canary-client/);
    for (const r of emu.requests.filter((r) => !isProof(r))) expect(r.clientCertSubject).toMatch(/ci-admin/);

    for (const scope of ['proj_alpha', 'proj_beta', CANARY]) expect(emu.activeIn(scope)).toEqual([id]);
    expect(emu.activeIn('organization')).toContain(id);
    expect(run.outputs.retired).toBe(oldId);
    expect(run.outputs.activated!.split(',').sort()).toEqual(['organization', 'proj_alpha', 'proj_beta', CANARY].sort());
    expect(run.stdout).toMatch(/organization proof: passed: the organization was read back through the mTLS host/);
    expect(run.summary).toContain('### Staged rollout');
    expect(run.summary).toMatch(/Proof request on `127\.0\.0\.1:\d+`: ✅ passed after 1 attempt/);
    expect(run.summary).toContain('project `proj_gamma` (canary)');
    expect(leaks(run, [key, CANARY_KEY, canaryLeaf.keyPem, adminLeaf.keyPem])).toEqual([]);
    expect(run.masked).toContain(CANARY_KEY);
  });

  it('an activation slow to take effect: the proof retries and passes within the bound', async ({ track, expect }) => {
    const { emu, oldId } = await mtlsHost(track, { activationDelayMs: 2500 });
    const run = await runAction(inputs(emu), { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.canary).toBe('passed');
    const proofs = emu.requests.filter(isProof);
    expect(proofs.length).toBeGreaterThanOrEqual(2);
    expect(run.stdout).toMatch(/Proof request 1 failed: the API answered 401 certificate_verification_failed.*trying again in/);
    expect(run.summary).toMatch(/✅ passed after [2-9] attempts/);
    const lastProof = emu.requests.lastIndexOf(proofs.at(-1)!);
    expect(emu.requests.findIndex((r) => isActivation(r, 'proj_alpha'))).toBeGreaterThan(lastProof);
    expect(run.outputs.retired).toBe(oldId);
  });

  it('the host refuses the canary certificate: the run fails after the canary stage, nothing widened or retired; a re-run after the fix continues', async ({
    track,
    expect,
  }) => {
    let filter = true; // a certificate filter (CEL) that rejects the canary client certificate
    const { emu, oldId } = await mtlsHost(track, { clientCertificatePredicate: () => !filter });
    const run = await runAction(inputs(emu), { env });
    expect(run.code).toBe(1);
    expect(run.outputs.canary).toBe('failed');
    const id = run.outputs['certificate-id']!;
    const error = errorOf(expect, run);
    expect(error.title).toBe('canary');
    expect(error.message).toMatch(/certificate_attribute_verification_failed/);
    expect(error.message).toMatch(/a certificate filter .* rejected its attributes/);
    expect(error.message).toMatch(/Nothing was widened and nothing was retired/);
    expect(error.message).toContain(`POST /v1/organization/projects/${CANARY}/certificates/deactivate`);
    expect(error.message).toMatch(/run the action again/);
    expect(run.stdout).not.toMatch(/\n\s+at /);
    // Nothing widened, nothing retired: the old CA still active everywhere it was, the new one beside it in the canary.
    expect(emu.requests.filter((r) => isActivation(r, 'proj_alpha') || isActivation(r, 'proj_beta'))).toEqual([]);
    expect(emu.requests.filter(isDeactivation)).toEqual([]);
    expect(emu.activeIn('proj_alpha')).toEqual([oldId]);
    expect(emu.activeIn('proj_beta')).toEqual([oldId]);
    expect(emu.activeIn(CANARY).sort()).toEqual([oldId, id].sort());
    expect(run.summary).toMatch(/❌ failed after 1 attempt/);
    expect(run.summary).toContain('certificate_attribute_verification_failed');
    expect(leaks(run, [key, CANARY_KEY, canaryLeaf.keyPem])).toEqual([]);

    filter = false;
    const before = emu.requests.length;
    const again = await runAction(inputs(emu), { env });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.outputs.canary).toBe('passed');
    expect(again.outputs['certificate-id']).toBe(id);
    expect(again.outputs.uploaded).toBe('false');
    const second = emu.requests.slice(before);
    expect(second.filter((r) => r.method === 'POST' && r.path === '/v1/organization/certificates')).toEqual([]);
    expect(second.filter((r) => isActivation(r, CANARY))).toEqual([]);
    expect(second.filter(isProof).length).toBe(1);
    expect(again.stdout).toMatch(/already active in the canary project proj_gamma/);
    for (const scope of ['proj_alpha', 'proj_beta', CANARY]) expect(emu.activeIn(scope)).toEqual([id]);
  });

  it('an activation that does not take effect within canary-timeout-seconds: retried, then the run fails with nothing widened', async ({
    track,
    expect,
  }) => {
    const { emu, oldId } = await mtlsHost(track, { activationDelayMs: 600_000 });
    const run = await runAction(inputs(emu, { 'canary-timeout-seconds': '2' }), { env });
    expect(run.code).toBe(1);
    expect(run.outputs.canary).toBe('failed');
    expect(emu.requests.filter(isProof).length).toBeGreaterThanOrEqual(2);
    const error = errorOf(expect, run);
    expect(error.title).toBe('canary');
    expect(error.message).toMatch(/401 certificate_verification_failed/);
    expect(error.message).toMatch(/did not verify against a CA active for the canary project, for all of 2 s/);
    expect(emu.requests.filter(isDeactivation)).toEqual([]);
    expect(emu.activeIn('proj_alpha')).toEqual([oldId]);
    expect(emu.activeIn('proj_beta')).toEqual([oldId]);
    expect(emu.activeIn(CANARY)).toContain(oldId);
  });

  it('a canary key that does not match its certificate is refused locally, with zero requests', async ({ track, expect }) => {
    const { emu } = await mtlsHost(track);
    const run = await runAction(inputs(emu, { 'canary-client-key': otherLeaf.keyPem }), { env });
    expect(run.code).toBe(1);
    expect(emu.requests).toEqual([]);
    const error = errorOf(expect, run);
    expect(error.title).toBe('input canary-client-key');
    expect(error.message).toMatch(/canary-client-key is not the private key of canary-client-certificate/);
    expect(run.outputs.canary).toBe('skipped');
    expect(leaks(run, [key, CANARY_KEY, otherLeaf.keyPem])).toEqual([]);
  });

  it('a canary certificate from another CA than the one rotated in is refused locally, with zero requests', async ({ track, expect }) => {
    const { emu } = await mtlsHost(track);
    const run = await runAction(inputs(emu, { 'canary-client-certificate': otherLeaf.pem, 'canary-client-key': otherLeaf.keyPem }), {
      env,
    });
    expect(run.code).toBe(1);
    expect(emu.requests).toEqual([]);
    const error = errorOf(expect, run);
    expect(error.title).toBe('input canary-client-certificate');
    expect(error.message).toMatch(/does not chain to the CA certificate being rotated in/);
  });

  it('dry run: lists the stages in the log and the summary, writes nothing, sends no proof request', async ({ track, expect }) => {
    const { emu, oldId } = await mtlsHost(track);
    const run = await runAction(inputs(emu, { 'dry-run': 'true', 'activate-organization': 'true' }), { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(writes(emu)).toEqual([]);
    expect(emu.requests.filter(isProof)).toEqual([]);
    expect(run.outputs.canary).toBe('skipped');
    expect(run.stdout).toContain('Staged rollout with the canary project proj_gamma, in these stages:');
    const stageLines = run.stdout.split('\n').filter((l) => /^ {2}\d\. /.test(l));
    expect(stageLines.map((l) => l.slice(2, 4))).toEqual(['1.', '2.', '3.', '4.', '5.', '6.']);
    expect(stageLines[0]).toContain('upload the certificate');
    expect(stageLines[1]).toContain('activate it in the canary project proj_gamma only');
    expect(stageLines[2]).toMatch(/prove it: GET \/v1\/models on 127\.0\.0\.1:\d+/);
    expect(stageLines[3]).toContain('then activate it for the organization, project proj_alpha, project proj_beta');
    expect(stageLines[4]).toContain('prove the organization');
    expect(stageLines[5]).toContain(`only then retire ${oldId}`);
    expect(run.stdout).toContain('Dry run: no proof request was sent.');
    expect(run.summary).toContain('### Staged rollout');
    expect(run.summary.match(/🧪 planned/g)).toHaveLength(6);
    expect(run.summary).toContain('Dry run: no proof request was sent.');
    expect(emu.activeIn('proj_alpha')).toEqual([oldId]);
  });
});
