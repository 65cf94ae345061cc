import { describe, type ExpectStatic } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { leaks, runAction, type ActionRun } from '../helpers/action.ts';
import { closedPort } from '../helpers/net.ts';
import { serverTest as it } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const UPLOAD = '/organization/certificates';
const DAY = 86_400_000;

const uploads = (emu: Emulator): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;
const base = (emu: Emulator, ca: MadeCertificate, extra: Record<string, string> = {}): Record<string, string> => ({
  'admin-api-key': key,
  certificate: ca.pem,
  name: 'corp-ca',
  'base-url': emu.baseURL,
  ...extra,
});

/** A successful run that left exactly one certificate, the one the outputs name. */
function expectOneCertificate(expect: ExpectStatic, emu: Emulator, run: ActionRun, uploaded: 'true' | 'false' = 'true'): void {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(emu.certificates).toHaveLength(1);
  expect(run.outputs['certificate-id']).toBe(emu.certificates[0]!.id);
  expect(run.outputs.uploaded).toBe(uploaded);
  expect(leaks(run, [key])).toEqual([]);
}

/** A failed run: exit code 1, one ::error annotation that says what happened and what to do, no stack trace. */
function expectFailure(expect: ExpectStatic, run: ActionRun, what: RegExp, todo: RegExp): string {
  expect(run.code).toBe(1);
  const errors = run.annotations.filter((a) => a.level === 'error');
  expect(errors).toHaveLength(1);
  const message = errors[0]!.message;
  expect(message).toMatch(what);
  expect(message).toMatch(todo);
  expect(run.stdout).not.toMatch(/\n\s+at /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  expect(run.outputs.uploaded).toBe('false');
  expect(run.summary).toMatch(/Failed/);
  expect(leaks(run, [key])).toEqual([]);
  return message;
}

describe.concurrent('compiled action: faults, nothing lost and nothing doubled', () => {
  it('429 with Retry-After: 1, twice on the upload: waits, succeeds, one certificate', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'status', status: 429, method: 'POST', path: UPLOAD, times: 2, headers: { 'Retry-After': '1' } });
    const run = await runAction(base(emu, makeCa()));
    expectOneCertificate(expect, emu, run);
    expect(uploads(emu)).toBe(3);
    expect(run.stdout).toContain('Attempt 1 to upload the certificate failed (HTTP 429); trying again in 1.0 s (3 retries left).');
    expect(run.stdout).toContain('Attempt 2 to upload the certificate failed (HTTP 429); trying again in 1.0 s (2 retries left).');
    expect(run.stdout).toMatch(/after 3 attempts/);
    const posts = emu.requests.filter((r) => r.method === 'POST');
    // Retry-After was honoured: about a second between attempts.
    expect(posts[1]!.time - posts[0]!.time).toBeGreaterThanOrEqual(950);
    expect(posts[2]!.time - posts[1]!.time).toBeGreaterThanOrEqual(950);
    // A 429 means nothing was stored: no check between attempts, so only the planning list and the
    // list after the upload.
    expect(emu.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  it.for([
    [500, {}],
    // A 409 is not a final answer either: it may have been stored.
    [409, { code: 'conflict', message: 'Conflict.' }],
  ] as const)(
    'one %i on the upload: waits the back-off, looks, uploads again, one certificate',
    async ([status, extra], { emulator, expect }) => {
      const emu = await emulator();
      emu.addFault({ kind: 'status', status, method: 'POST', path: UPLOAD, ...extra });
      const run = await runAction(base(emu, makeCa()));
      expectOneCertificate(expect, emu, run);
      expect(uploads(emu)).toBe(2);
      expect(run.stdout).toMatch(
        new RegExp(
          `Attempt 1 to upload the certificate failed \\(HTTP ${status}\\), which does not tell whether it took effect; checking in \\d\\.\\d s \\(3 retries left\\)\\.`,
        ),
      );
      expect(run.stdout).toContain('The organization holds no copy of it yet.');
      expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /v1/organization/certificates',
        'POST /v1/organization/certificates',
        'GET /v1/organization/certificates',
        'POST /v1/organization/certificates',
        'GET /v1/organization/certificates',
      ]);
      // The look came after the back-off (0.5 s at least), not at once.
      const [, post, look] = emu.requests;
      expect(look!.time - post!.time).toBeGreaterThanOrEqual(450);
    },
  );

  it('connection dropped before the upload reached the API: the retry uploads, one certificate', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'drop-before', method: 'POST', path: UPLOAD });
    const run = await runAction(base(emu, makeCa()));
    expectOneCertificate(expect, emu, run);
    expect(uploads(emu)).toBe(2);
    expect(run.stdout).toMatch(/Attempt 1 to upload the certificate failed \(connection failed\)/);
  });

  it('the answer lost after the upload was stored: finds it, uploads nothing more, and does not claim it (its id never came back)', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'drop-after', method: 'POST', path: UPLOAD });
    const ca = makeCa();
    const run = await runAction(base(emu, ca));
    expectOneCertificate(expect, emu, run, 'false');
    expect(uploads(emu)).toBe(1);
    expect(run.outputs.fingerprint).toBe(ca.fingerprint);
    expect(run.outputs.name).toBe('corp-ca');
    expect(run.stdout).toContain(`It was stored: ${emu.certificates[0]!.id} holds this certificate, so it is not uploaded again.`);
  });

  it('a hanging API fails in about (max-retries + 1) × timeout, naming the host and the time limit', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'hang', times: Infinity });
    const run = await runAction(base(emu, makeCa(), { 'timeout-seconds': '1', 'max-retries': '1' }), { timeoutMs: 60_000 });
    const message = expectFailure(
      expect,
      run,
      new RegExp(`${new URL(emu.baseURL).host.replace(/\./g, '\\.')} did not answer within .*timeout-seconds`),
      /raise timeout-seconds/,
    );
    expect(message).toMatch(/^Could not list the certificates of the organization/);
    expect(emu.requests.length).toBe(2);
    expect(run.ms).toBeGreaterThanOrEqual(2000);
    // Bounded: about 2 s of time limits plus back-off and process start, well under the minute after which
    // the test gives up on the run (slack for a busy machine, not a speed target).
    expect(run.ms).toBeLessThan(30_000);
    expect(emu.certificates).toHaveLength(0);
  });

  it('an upload that hangs: each attempt is bounded, checked for, and the failure names host and timeout', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'hang', method: 'POST', path: UPLOAD, times: Infinity });
    const run = await runAction(base(emu, makeCa(), { 'timeout-seconds': '1', 'max-retries': '1' }), { timeoutMs: 60_000 });
    const message = expectFailure(
      expect,
      run,
      new RegExp(
        `^Could not upload the certificate: ${new URL(emu.baseURL).host.replace(/\./g, '\\.')} did not answer within 1 s \\(timeout-seconds\\)`,
      ),
      /raise timeout-seconds/,
    );
    expect(message).toMatch(/It was tried 2 times\. It is not known whether the certificate was stored/);
    expect(message).not.toMatch(/does not hold/);
    expect(uploads(emu)).toBe(2);
    // Bounded: about 2 s of time limits plus back-off and process start, well under the minute after which
    // the test gives up on the run (slack for a busy machine, not a speed target).
    expect(run.ms).toBeLessThan(30_000);
    expect(emu.certificates).toHaveLength(0);
  });
});

describe.concurrent('compiled action: failures a user can act on', () => {
  it('401: a wrong admin key', async ({ emulator, expect }) => {
    const emu = await emulator();
    const wrong = 'sk-admin-wrong-key-0123456789abcdef';
    const run = await runAction(base(emu, makeCa(), { 'admin-api-key': wrong }));
    expectFailure(
      expect,
      run,
      /the admin key was rejected \(401\).*\(request id req_[0-9a-f]+\)/,
      /must be an Admin API key.*not a project key/,
    );
    expect(leaks(run, [wrong])).toEqual([]);
    expect(emu.certificates).toHaveLength(0);
  });

  it('a project key (sk-proj-…) as admin-api-key: refused by name before anything is sent, and not shown', async ({ emulator, expect }) => {
    const emu = await emulator();
    const projectKey = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
    const run = await runAction(base(emu, makeCa(), { 'admin-api-key': projectKey }));
    const message = expectFailure(
      expect,
      run,
      /^admin-api-key holds a project or service-account key; certificate endpoints accept only Admin API keys\./,
      /Create an Admin API key/,
    );
    expect(message).not.toMatch(/401|rejected/);
    expect(run.annotations.find((a) => a.level === 'error')?.title).toBe('input admin-api-key');
    expect(emu.requests).toEqual([]);
    expect(run.masked).toContain(projectKey);
    expect(leaks(run, [projectKey])).toEqual([]);
  });

  it('403 on the list: the key lacks api.mtls.read', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({
      kind: 'status',
      status: 403,
      method: 'GET',
      path: UPLOAD,
      message: 'You have insufficient permissions for this operation.',
    });
    const run = await runAction(base(emu, makeCa()));
    expectFailure(
      expect,
      run,
      /^Could not list the certificates of the organization: the admin key is not allowed to \(403\).*\(request id req_[0-9a-f]+\)/,
      /api\.mtls\.read permission/,
    );
    expect(uploads(emu)).toBe(0);
  });

  it('403 on the upload: the key lacks api.mtls.write', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'status', status: 403, method: 'POST', path: UPLOAD, message: 'Missing scopes: api.mtls.write.' });
    const run = await runAction(base(emu, makeCa()));
    const message = expectFailure(
      expect,
      run,
      /^Could not upload the certificate: the admin key is not allowed to \(403\)/,
      /api\.mtls\.write/,
    );
    expect(message).not.toMatch(/client-certificate/);
    expect(uploads(emu)).toBe(1);
  });

  it('404 on certificate-id names the id', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction({ 'admin-api-key': key, 'certificate-id': 'cert_missing123', 'base-url': emu.baseURL });
    expectFailure(expect, run, /certificate cert_missing123 was not found \(404\).*request id req_/, /Check certificate-id/);
  });

  it('404 on a project id names the project, and nothing is uploaded', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction(base(emu, makeCa(), { 'activate-projects': 'proj_alpha, proj_nope' }));
    expectFailure(expect, run, /project proj_nope was not found \(404\)/, /activate-projects/);
    expect(uploads(emu)).toBe(0);
  });

  it('an organization already holding 50 certificates: explains the cap and delete-expired, uploads nothing', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const other = makeCa({ cn: 'Other CA' });
    for (let i = 0; i < 50; i++) emu.addCertificate(other.pem, { name: `old-${i}` });
    const run = await runAction(base(emu, makeCa()));
    expectFailure(
      expect,
      run,
      /already holds 50 certificates, the most OpenAI allows \(50\); nothing was uploaded/,
      /delete-expired: true/,
    );
    expect(uploads(emu)).toBe(0);
    expect(emu.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
    expect(emu.certificates).toHaveLength(50);
  });

  it('with delete-expired on, expired inactive certificates are deleted first to make room, then it uploads', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const other = makeCa({ cn: 'Other CA' });
    const expired = await makeDatedCa(new Date(Date.now() - 400 * DAY), new Date(Date.now() - 10 * DAY), 'Expired CA');
    for (let i = 0; i < 46; i++) emu.addCertificate(other.pem, { name: `current-${i}` });
    const stale = [0, 1, 2, 3].map((i) => emu.addCertificate(expired.pem, { name: `expired-${i}`, skipValidation: true }).id);
    expect(emu.certificates).toHaveLength(50);
    const run = await runAction(base(emu, makeCa(), { 'delete-expired': 'true' }));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.uploaded).toBe('true');
    expect((run.outputs.deleted ?? '').split(',').sort()).toEqual([...stale].sort());
    expect(emu.certificates).toHaveLength(47);
    for (const id of stale) expect(emu.certificates.some((c) => c.id === id)).toBe(false);
    const firstUpload = emu.requests.findIndex((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`);
    const deletes = emu.requests.map((r, i) => (r.method === 'DELETE' ? i : -1)).filter((i) => i >= 0);
    expect(deletes).toHaveLength(4);
    for (const i of deletes) expect(i).toBeLessThan(firstUpload);
    expect(uploads(emu)).toBe(1);
  });

  it('a host that cannot be reached is named', async ({ emulator, expect }) => {
    const emu = await emulator();
    const port = await closedPort();
    const run = await runAction(base(emu, makeCa(), { 'base-url': `http://127.0.0.1:${port}/v1`, 'max-retries': '1' }));
    expectFailure(
      expect,
      run,
      new RegExp(`could not connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
      /Check that the runner can reach the host/,
    );
  });

  it('the API refuses the certificate as expired: its own message, explained', async ({ emulator, expect }) => {
    const emu = await emulator();
    // The local checks would refuse a certificate that really expires, so the API's refusal is injected.
    emu.addFault({
      kind: 'status',
      status: 400,
      code: 'expired_certificate',
      method: 'POST',
      path: UPLOAD,
      message: 'The certificate expires at 2026-11-29T00:00:00.000Z; it must remain valid for more than one day.',
    });
    const run = await runAction(base(emu, makeCa()));
    expectFailure(
      expect,
      run,
      /answered 400 expired_certificate: "The certificate expires at 2026-11-29T00:00:00\.000Z; it must remain valid for more than one day\."/,
      /issue a new CA certificate/,
    );
    expect(uploads(emu)).toBe(1);
  });

  it('certificate_in_use when deleting an expired certificate is a notice, not a failure', async ({ emulator, expect }) => {
    const emu = await emulator();
    // The project it is active in cannot be read (the key may not list projects), so the plan cannot see it
    // in use and asks to delete it; OpenAI refuses, and the run says so.
    const expired = await makeDatedCa(new Date(Date.now() - 400 * DAY), new Date(Date.now() - 10 * DAY), 'Expired CA');
    const stuck = emu.addCertificate(expired.pem, { skipValidation: true, activeProjects: ['proj_gamma'] });
    emu.addFault({
      kind: 'status',
      status: 403,
      method: 'GET',
      path: '/organization/projects',
      message: 'Missing scopes: api.projects.read',
    });
    const run = await runAction(base(emu, makeCa(), { 'delete-expired': 'true' }));
    expect(run.code).toBe(0);
    const notice = run.annotations.find((a) => a.level === 'notice' && a.message.includes(stuck.id));
    expect(notice?.message).toMatch(new RegExp(`Kept ${stuck.id}.*certificate_in_use`));
    expect(run.annotations.some((a) => a.level === 'notice' && /Not every project could be read/.test(a.message))).toBe(true);
    expect(emu.certificates).toHaveLength(2);
  });
});
