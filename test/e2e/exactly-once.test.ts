/**
 * The compiled action against the real world's habits: runs racing each other, late commits, thin
 * answers, lost answers, and an environment that would send the admin key elsewhere. Each test ends
 * with the organization's state checked.
 */
import { describe } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { leaks, runAction, type ActionRun } from '../helpers/action.ts';
import { makeCa, makeDatedCa, makeLeaf } from '../helpers/certs.ts';
import { startProxy } from '../helpers/proxy.ts';
import { serverTest as it } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const UPLOAD = '/organization/certificates';
const DAY = 86_400_000;
const posts = (emu: Emulator): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;
/** Settles once `n` uploads have reached the emulator: a barrier for uploads held by a `late` rule. */
const uploadsArrived = (emu: Emulator, n: number): Promise<void> =>
  new Promise((resolve) => {
    const poll = setInterval(() => {
      if (posts(emu) < n) return;
      clearInterval(poll);
      resolve();
    }, 10);
    poll.unref();
  });
const errorsOf = (run: ActionRun) => run.annotations.filter((a) => a.level === 'error');

// One after another: each test's runs race each other (held at a barrier, so the timing of a test beside
// them could only slow them).
describe('compiled action: runs racing each other end on one copy', () => {
  it('four runs at once, same CA, same project: one copy, active there, the same certificate-id everywhere, one uploader', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    // Every upload is held until all four have arrived (so every run planned, and saw nothing, first),
    // however slowly a busy machine starts the runs; 30 s at most.
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 30_000, until: uploadsArrived(emu, 4), times: Infinity });
    const ca = makeCa({ cn: 'Raced CA' });
    const inputs = {
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'corp-ca',
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha',
    };
    const runs = await Promise.all(Array.from({ length: 4 }, () => runAction(inputs)));
    for (const run of runs) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(leaks(run, [key])).toEqual([]);
    }
    expect(posts(emu)).toBe(4);
    expect(emu.certificates).toHaveLength(1);
    const kept = emu.certificates[0]!.id;
    expect(runs.map((r) => r.outputs['certificate-id'])).toEqual(Array(4).fill(kept));
    expect(runs.map((r) => r.outputs.uploaded).sort()).toEqual(['false', 'false', 'false', 'true']);
    expect(emu.activeIn('proj_alpha')).toEqual([kept]);
    // Every other copy was deleted (two runs may both delete the same orphan: the second finds it gone);
    // none deleted the one kept.
    const deleted = emu.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(new Set(deleted).size).toBe(3);
    expect(deleted).not.toContain(kept);
    // The runs waited for the second of the copies to pass before they chose: only the kept copy was activated.
    for (const r of emu.requests.filter((q) => q.path.endsWith('/activate'))) expect(r.body).toEqual({ certificate_ids: [kept] });
    const losers = runs.filter((r) => r.outputs.uploaded === 'false');
    for (const run of losers) expect(run.stdout).toMatch(new RegExp(`${kept}, an identical copy stored at .*, is older than cert_\\w+`));
  }, 60_000);

  it('three runs at once, one project each: one copy, active in every project that asked', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 30_000, until: uploadsArrived(emu, 3), times: Infinity });
    const ca = makeCa({ cn: 'Matrix CA' });
    const projects = ['proj_alpha', 'proj_beta', 'proj_gamma'];
    const runs = await Promise.all(
      projects.map((project) =>
        runAction({ 'admin-api-key': key, certificate: ca.pem, name: 'corp-ca', 'base-url': emu.baseURL, 'activate-projects': project }),
      ),
    );
    for (const run of runs) expect(run.code).toBe(0);
    expect(emu.certificates).toHaveLength(1);
    const kept = emu.certificates[0]!.id;
    for (const project of projects) expect(emu.activeIn(project)).toEqual([kept]);
    expect(runs.map((r) => r.outputs['certificate-id'])).toEqual([kept, kept, kept]);
    expect(runs.filter((r) => r.outputs.uploaded === 'true')).toHaveLength(1);
    expect(runs.map((r) => r.outputs.activated).sort()).toEqual(projects);
  }, 60_000);
});

describe.concurrent('compiled action: late commits, lost and thin answers', () => {
  it('an upload stored after the client timed out: the look after the back-off finds it, one copy, no second upload', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    // Stored 1.2 s after it arrived; the client gives up at 1 s and looks again after at least 0.5 s.
    emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 1200 });
    const ca = makeCa();
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'corp-ca',
      'base-url': emu.baseURL,
      'timeout-seconds': '1',
    });
    await emu.settled();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(posts(emu)).toBe(1);
    expect(emu.certificates).toHaveLength(1);
    // The id never came back to this run: it says so, and does not claim the upload.
    expect(run.outputs).toMatchObject({ 'certificate-id': emu.certificates[0]!.id, uploaded: 'false' });
    expect(run.stdout).toMatch(
      /Attempt 1 to upload the certificate failed \(timed out\), which does not tell whether it took effect; checking in/,
    );
    expect(run.stdout).toContain(`It was stored: ${emu.certificates[0]!.id} holds this certificate, so it is not uploaded again.`);
  });

  it('x-should-retry: false on a 500: no second upload, and the failure says what is known, never more', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ kind: 'status', status: 500, method: 'POST', path: UPLOAD, shouldRetry: false });
    const ca = makeCa();
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL });
    expect(run.code).toBe(1);
    expect(posts(emu)).toBe(1);
    const [error] = errorsOf(run);
    expect(error?.message).toMatch(/It was tried once\. It is not known whether the certificate was stored/);
    expect(error?.message).toContain(ca.fingerprint);
    expect(error?.message).not.toMatch(/does not hold/);
  });

  it('a DELETE whose answer was lost: the retry finds it gone, and the run succeeds with it counted as deleted', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const expired = await makeDatedCa(new Date(Date.now() - 100 * DAY), new Date(Date.now() - DAY), 'Expired CA');
    const old = emu.addCertificate(expired.pem, { name: 'corp-ca', skipValidation: true });
    emu.addFault({ kind: 'drop-after', method: 'DELETE' });
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      name: 'corp-ca',
      'base-url': emu.baseURL,
      'delete-expired': 'true',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.deleted).toBe(old.id);
    expect(emu.certificates.map((c) => c.id)).not.toContain(old.id);
    expect(emu.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    expect(run.stdout).toContain(`${old.id} is gone: the attempt whose answer was lost deleted it.`);
  });

  it('an identical certificate whose content the API does not give: the run stops before anything is uploaded', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const ca = makeCa();
    const same = emu.addCertificate(ca.pem, { name: 'corp-ca' });
    emu.addFault({ kind: 'thin', method: 'GET', path: new RegExp(`/certificates/${same.id}$`) });
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, name: 'corp-ca', 'base-url': emu.baseURL });
    expect(run.code).toBe(1);
    expect(posts(emu)).toBe(0);
    expect(emu.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(emu.certificates).toHaveLength(1);
    const [error] = errorsOf(run);
    expect(error?.message).toMatch(
      new RegExp(
        `^Could not tell whether ${same.id} \\("corp-ca"\\) is this certificate: the API returned no content for it\\. Nothing was written`,
      ),
    );
    expect(run.outputs.uploaded).toBe('false');
  });

  it('a content that does not decode is an error too, naming the certificate', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const same = emu.addCertificate(ca.pem);
    emu.addFault({ kind: 'thin', method: 'GET', path: new RegExp(`/certificates/${same.id}$`), replaceContent: 'not a certificate' });
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL });
    expect(run.code).toBe(1);
    expect(posts(emu)).toBe(0);
    expect(errorsOf(run)[0]?.message).toMatch(
      new RegExp(`Could not tell whether ${same.id} is this certificate: the API returned a content that holds no certificate`),
    );
  });
});

describe.concurrent('compiled action: the admin key goes only where the user said', () => {
  it('OPENAI_BASE_URL pointing at another server receives nothing: the key goes to api.openai.com, and a notice says so', async ({
    emulator,
    track,
    expect,
  }) => {
    const gateway = await emulator();
    // The test proxy lets only loopback through: the call to api.openai.com is seen and refused there.
    const proxy = track(await startProxy());
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'max-retries': '0' },
      { env: { OPENAI_BASE_URL: gateway.baseURL, HTTPS_PROXY: proxy.url } },
    );
    expect(gateway.requests).toEqual([]);
    expect(proxy.seen[0]).toBe('CONNECT api.openai.com:443');
    expect(proxy.seen.every((line) => line === 'CONNECT api.openai.com:443')).toBe(true);
    expect(run.annotations).toContainEqual(
      expect.objectContaining({
        level: 'notice',
        message: expect.stringMatching(/^OPENAI_BASE_URL is set in the environment and is not used/),
      }),
    );
    expect(run.code).toBe(1);
    expect(leaks(run, [key])).toEqual([]);
  });

  it('http:// to a host that is not loopback is refused before any connection is attempted', async ({ track, expect }) => {
    const proxy = track(await startProxy());
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': 'http://api.example.test/v1' },
      { env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } },
    );
    expect(run.code).toBe(1);
    expect(proxy.seen).toEqual([]);
    const [error] = errorsOf(run);
    expect(error?.title).toBe('input base-url');
    expect(error?.message).toMatch(
      /plain http to api\.example\.test: the admin key would cross the network unencrypted\. Nothing was sent\./,
    );
    expect(run.summary).toMatch(/Failed/);
    expect(run.stdout).not.toMatch(/\n\s+at /);
  });

  it('http:// for mtls-base-url is refused: a client certificate needs TLS', async ({ emulator, expect }) => {
    const emu = await emulator();
    const anchor = makeCa({ cn: 'Anchor' });
    const { pem, keyPem } = makeLeaf(anchor, 'ci-runner');
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      'mtls-base-url': emu.baseURL,
      'client-certificate': pem,
      'client-key': keyPem,
    });
    expect(run.code).toBe(1);
    expect(emu.requests).toEqual([]);
    expect(errorsOf(run)[0]).toMatchObject({ title: 'input mtls-base-url' });
    expect(run.stdout).not.toContain('presenting the client certificate');
    expect(leaks(run, [key, keyPem])).toEqual([]);
  });

  it('a base-url that does not end in /v1 gets a warning', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction({ 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.origin, 'dry-run': 'true' });
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', title: 'input base-url', message: expect.stringMatching(/does not end in \/v1/) }),
    );
  });
});

describe.concurrent('compiled action: organization-level activation says it before it locks anyone out', () => {
  it('activate-organization without client-certificate: a warning in the log, a line in the plan and in the summary', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      name: 'corp-ca',
      'base-url': emu.baseURL,
      'activate-organization': 'true',
    });
    expect(run.code).toBe(0);
    expect(emu.activeIn('organization')).toEqual([run.outputs['certificate-id']]);
    const warning = run.annotations.find((a) => a.level === 'warning' && a.title === 'activate-organization');
    expect(warning?.message).toMatch(/later runs of this action .* will need client-certificate and client-key/);
    expect(run.stdout).toContain('Caution: after this activation for the organization, Admin API calls need a client certificate');
    expect(run.summary).toMatch(/> ⚠️ activate-organization is on and no client-certificate is given\./);
  });

  it('in a dry run too; not with per-project activation', async ({ emulator, expect }) => {
    const emu = await emulator();
    const dry = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      'base-url': emu.baseURL,
      'activate-organization': 'true',
      'dry-run': 'true',
    });
    expect(dry.annotations.some((a) => a.title === 'activate-organization')).toBe(true);
    expect(dry.summary).toMatch(/activate-organization is on and no client-certificate is given/);
    const perProject = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha',
    });
    expect(perProject.annotations.some((a) => a.title === 'activate-organization')).toBe(false);
    expect(perProject.summary).not.toMatch(/⚠️/);
  });
});
