import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, tempDir } from '../helpers/certs.ts';
import { FAKE_GITHUB_TOKEN, runAction } from '../helpers/action.ts';
import { startFakeGitHub } from '../helpers/fake-github.ts';
import { serverTest as it } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const writes = (emu: Emulator) => emu.requests.filter((r) => r.method !== 'GET');
const index = (emu: Emulator, method: string, path: string | RegExp, bodyIncludes?: string): number =>
  emu.requests.findIndex(
    (r) =>
      r.method === method &&
      (typeof path === 'string' ? r.path === path : path.test(r.path)) &&
      (!bodyIncludes || JSON.stringify(r.body).includes(bodyIncludes)),
  );

describe.concurrent('compiled action: rotation', () => {
  it('activates for the organization and three projects', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-organization': 'true',
      'activate-projects': 'proj_alpha, proj_beta\nproj_gamma',
    });
    expect(run.code).toBe(0);
    const id = run.outputs['certificate-id']!;
    expect(run.outputs.activated).toBe('organization,proj_alpha,proj_beta,proj_gamma');
    for (const scope of ['organization', 'proj_alpha', 'proj_beta', 'proj_gamma']) expect(emu.activeIn(scope)).toEqual([id]);
    expect(run.summary).toMatch(/\| organization \| none \| activated cert_/);
  });

  it('activates in 25 projects, each proven to exist by one list before any write', async ({ emulator, expect }) => {
    const projects = Array.from({ length: 25 }, (_, i) => `proj_p${String(i).padStart(2, '0')}`);
    const emu = await emulator({ projects });
    const ca = makeCa();
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      'base-url': emu.baseURL,
      'activate-projects': projects.join(','),
    });
    expect(run.code).toBe(0);
    const id = run.outputs['certificate-id']!;
    for (const project of projects) expect(emu.activeIn(project)).toEqual([id]);
    const firstWrite = emu.requests.findIndex((r) => r.method !== 'GET');
    const lists = emu.requests.filter((r, i) => i < firstWrite && /\/projects\/.*\/certificates$/.test(r.path));
    expect(lists).toHaveLength(25);
    // One list each, the upload, the list that converges, 25 activations, the organization read for copies,
    // and each project read back once.
    // (One more list when the upload was answered within the second its copy was stored: see upload.ts.)
    expect(emu.requests.length).toBeGreaterThanOrEqual(1 + 25 + 1 + 1 + 25 + 1 + 25);
    expect(emu.requests.length).toBeLessThanOrEqual(1 + 25 + 1 + 1 + 25 + 1 + 25 + 1);
  });

  it('retire-previous deactivates only same-named certificates, and only after the new one is active there', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const old = emu.addCertificate(makeCa({ cn: 'Old' }).pem, { name: 'corp', activeOrg: true, activeProjects: ['proj_alpha'] });
    const other = emu.addCertificate(makeCa({ cn: 'Other' }).pem, { name: 'partner', activeOrg: true, activeProjects: ['proj_alpha'] });
    const idle = emu.addCertificate(makeCa({ cn: 'Idle' }).pem, { name: 'corp' });
    const ca = makeCa({ cn: 'New' });
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-organization': 'true',
      'activate-projects': 'proj_alpha',
      'retire-previous': 'true',
    });
    expect(run.code).toBe(0);
    const id = run.outputs['certificate-id']!;
    expect(run.outputs.retired).toBe(old.id);
    expect(emu.activeIn('organization').sort()).toEqual([id, other.id].sort());
    expect(emu.activeIn('proj_alpha').sort()).toEqual([id, other.id].sort());
    expect(idle.activeOrg).toBe(false);

    const orgActivate = index(emu, 'POST', '/v1/organization/certificates/activate', id);
    const orgRetire = index(emu, 'POST', '/v1/organization/certificates/deactivate', old.id);
    const projActivate = index(emu, 'POST', '/v1/organization/projects/proj_alpha/certificates/activate', id);
    const projRetire = index(emu, 'POST', '/v1/organization/projects/proj_alpha/certificates/deactivate', old.id);
    expect(orgActivate).toBeGreaterThan(-1);
    expect(projActivate).toBeGreaterThan(-1);
    expect(orgRetire).toBeGreaterThan(Math.max(orgActivate, projActivate));
    expect(projRetire).toBeGreaterThan(Math.max(orgActivate, projActivate));
    for (const request of emu.requests.filter((r) => r.path.endsWith('/deactivate'))) {
      expect(request.body).toEqual({ certificate_ids: [old.id] });
    }
    expect(run.summary).toContain(`retired ${old.id}`);
  });

  it('retire-previous retires 11 same-named certificates in one project, at most 10 ids a call', async ({ emulator, expect }) => {
    const emu = await emulator();
    // The API (and the emulator) refuses more than 10 certificate_ids in one activate or deactivate call.
    const olds = Array.from({ length: 11 }, (_, i) =>
      emu.addCertificate(makeCa({ cn: `Old ${i}`, days: 200 }).pem, { name: 'corp', activeProjects: ['proj_alpha'] }),
    );
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa({ cn: 'New' }).pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha',
      'retire-previous': 'true',
    });
    expect(run.code, run.stdout).toBe(0);
    const id = run.outputs['certificate-id']!;
    expect(emu.activeIn('proj_alpha')).toEqual([id]);
    expect(run.outputs.retired!.split(',').sort()).toEqual(olds.map((o) => o.id).sort());
    const calls = emu.requests.filter((r) => /\/projects\/proj_alpha\/certificates\/(de)?activate$/.test(r.path));
    const sizes = calls.map((r) => (r.body as { certificate_ids: string[] }).certificate_ids.length);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(10);
    expect(sizes).toEqual([1, 10, 1]);
    const retired = calls.slice(1).flatMap((r) => (r.body as { certificate_ids: string[] }).certificate_ids);
    expect(retired.sort()).toEqual(olds.map((o) => o.id).sort());
    expect(emu.requests.filter((r) => r.method !== 'GET' && r.path.endsWith('/deactivate'))).toHaveLength(2);
  });

  it('retires nothing anywhere when an activation fails', async ({ emulator, expect }) => {
    const emu = await emulator();
    const old = emu.addCertificate(makeCa({ cn: 'Old' }).pem, { name: 'corp', activeProjects: ['proj_alpha', 'proj_beta'] });
    emu.addFault({
      kind: 'status',
      status: 400,
      method: 'POST',
      path: '/v1/organization/projects/proj_beta/certificates/activate',
      code: 'invalid_request',
      message: 'boom',
      times: 10,
    });
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa({ cn: 'New' }).pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha,proj_beta',
      'retire-previous': 'true',
    });
    expect(run.code).toBe(1);
    expect(emu.requests.filter((r) => r.path.endsWith('/deactivate'))).toHaveLength(0);
    expect(emu.activeIn('proj_alpha')).toContain(old.id);
    expect(emu.activeIn('proj_beta')).toEqual([old.id]);
    expect(run.outputs['certificate-id']).toMatch(/^cert_/);
    expect(run.annotations.find((a) => a.level === 'error')?.message).toMatch(/proj_beta/);
  });

  it('reuses an identical certificate instead of uploading it again', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    emu.addCertificate(makeCa({ cn: 'Decoy', days: 100 }).pem, { name: 'decoy' });
    const existing = emu.addCertificate(ca.pem, { name: 'corp' });
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha',
    });
    expect(run.code).toBe(0);
    expect(index(emu, 'POST', '/v1/organization/certificates')).toBe(-1);
    expect(run.outputs).toMatchObject({ 'certificate-id': existing.id, uploaded: 'false', activated: 'proj_alpha' });
    expect(emu.certificates).toHaveLength(2);
    const contentReads = emu.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/organization/certificates/cert_'));
    expect(contentReads.map((r) => r.path)).toEqual([`/v1/organization/certificates/${existing.id}`]);
  });

  it('says so when the reused certificate keeps another name', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const existing = emu.addCertificate(ca.pem, { name: 'corp-2026' });
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, name: 'corp-2027', 'base-url': emu.baseURL });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'certificate-id': existing.id, name: 'corp-2026', uploaded: 'false' });
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ level: 'notice', message: expect.stringContaining(`${existing.id} keeps its name "corp-2026"`) }),
    );
  });

  it('reuses, and acts by certificate-id, when the API returns the PEM with its line breaks', async ({ emulator, expect }) => {
    const emu = await emulator({ contentStyle: 'as-uploaded' });
    const ca = makeCa();
    const existing = emu.addCertificate(ca.pem, { name: 'corp' });
    const reused = await runAction({ 'admin-api-key': key, certificate: ca.pem, name: 'corp', 'base-url': emu.baseURL });
    expect(reused.code).toBe(0);
    expect(reused.outputs).toMatchObject({ 'certificate-id': existing.id, uploaded: 'false' });
    expect(emu.certificates).toHaveLength(1);
    const byId = await runAction({ 'admin-api-key': key, 'certificate-id': existing.id, 'base-url': emu.baseURL });
    expect(byId.code).toBe(0);
    expect(byId.outputs.fingerprint).toBe(ca.fingerprint);
  });

  it('uploads a duplicate when reuse-existing is false', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    emu.addCertificate(ca.pem, { name: 'corp' });
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL, 'reuse-existing': 'false' });
    expect(run.code).toBe(0);
    expect(emu.certificates).toHaveLength(2);
    expect(run.outputs.uploaded).toBe('true');
  });

  it('with reuse-existing false, a lost upload answer is not mistaken for the older identical certificate', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const ca = makeCa();
    const older = emu.addCertificate(ca.pem, { name: 'old' });
    emu.addFault({ kind: 'drop-after', method: 'POST', path: '/v1/organization/certificates' });
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'new',
      'base-url': emu.baseURL,
      'reuse-existing': 'false',
    });
    expect(run.code).toBe(0);
    expect(emu.certificates).toHaveLength(2);
    const stored = emu.certificates.find((c) => c.id !== older.id)!;
    // The id never came back to this run (its answer was lost), so it does not claim the upload.
    expect(run.outputs).toMatchObject({ 'certificate-id': stored.id, name: 'new', uploaded: 'false' });
    expect(run.stdout).toMatch(/lost an upload's answer/);
  });

  it('acts on an uploaded certificate with certificate-id, filling outputs from the API', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa({ days: 200 });
    const stored = emu.addCertificate(ca.pem, { name: 'corp-2027' });
    const run = await runAction({
      'admin-api-key': key,
      'certificate-id': stored.id,
      'base-url': emu.baseURL,
      'activate-projects': 'proj_beta',
    });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({
      'certificate-id': stored.id,
      name: 'corp-2027',
      fingerprint: ca.fingerprint,
      'valid-at': String(stored.valid_at),
      'expires-at': String(stored.expires_at),
      uploaded: 'false',
      activated: 'proj_beta',
    });
    expect(emu.activeIn('proj_beta')).toEqual([stored.id]);
    expect(index(emu, 'POST', '/v1/organization/certificates')).toBe(-1);
  });

  it('names an unknown certificate-id', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction({ 'admin-api-key': key, 'certificate-id': 'cert_doesnotexist', 'base-url': emu.baseURL });
    expect(run.code).toBe(1);
    expect(run.annotations[0]!.message).toMatch(/certificate cert_doesnotexist was not found/);
  });

  it('delete-expired deletes expired inactive certificates and keeps active and still-valid ones', async ({ emulator, expect }) => {
    const emu = await emulator();
    const past = await makeDatedCa(new Date(Date.now() - 400 * 86_400_000), new Date(Date.now() - 10 * 86_400_000), 'Expired');
    const pastActive = await makeDatedCa(
      new Date(Date.now() - 400 * 86_400_000),
      new Date(Date.now() - 5 * 86_400_000),
      'Expired but active',
    );
    const pastInProject = await makeDatedCa(
      new Date(Date.now() - 400 * 86_400_000),
      new Date(Date.now() - 3 * 86_400_000),
      'Expired in a project',
    );
    const expired = emu.addCertificate(past.pem, { name: 'old', skipValidation: true });
    const expiredActive = emu.addCertificate(pastActive.pem, { name: 'old', skipValidation: true, activeOrg: true });
    const expiredInProject = emu.addCertificate(pastInProject.pem, { name: 'old', skipValidation: true, activeProjects: ['proj_gamma'] });
    const valid = emu.addCertificate(makeCa().pem, { name: 'current' });
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa({ cn: 'New' }).pem,
      'base-url': emu.baseURL,
      'delete-expired': 'true',
    });
    expect(run.code).toBe(0);
    expect(run.outputs.deleted).toBe(expired.id);
    const ids = emu.certificates.map((c) => c.id);
    expect(ids).not.toContain(expired.id);
    expect(ids).toEqual(expect.arrayContaining([expiredActive.id, expiredInProject.id, valid.id]));
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ level: 'notice', message: expect.stringContaining(expiredInProject.id) }),
    );
    const uploadAt = index(emu, 'POST', '/v1/organization/certificates');
    const deleteAt = index(emu, 'DELETE', /\/certificates\/cert_/);
    expect(deleteAt).toBeGreaterThan(uploadAt);
  });

  it('a dry run with an admin key reads and plans but never writes', async ({ emulator, expect }) => {
    const emu = await emulator();
    const old = emu.addCertificate(makeCa({ cn: 'Old' }).pem, { name: 'corp', activeOrg: true });
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa({ cn: 'New' }).pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-organization': 'true',
      'activate-projects': 'proj_alpha',
      'retire-previous': 'true',
      'delete-expired': 'true',
      'dry-run': 'true',
    });
    expect(run.code).toBe(0);
    expect(writes(emu)).toEqual([]);
    expect(emu.requests.length).toBeGreaterThan(0);
    expect(run.outputs['certificate-id']).toBe('');
    expect(run.summary).toMatch(/Dry run: would upload the certificate, activate it for the organization, project proj_alpha, retire/);
    expect(run.summary).toContain(old.id);
    expect(run.summary).toMatch(/\| Planned \|/);
  });

  it('fails on an unknown project, named, before anything is written', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha,proj_nosuch',
    });
    expect(run.code).toBe(1);
    expect(writes(emu)).toEqual([]);
    expect(run.annotations[0]!.message).toMatch(/project proj_nosuch was not found/);
  });

  it('activated names where the certificate is active after the run: a project added to an organization-active CA', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const ca = makeCa({ cn: 'Organization CA' });
    const stored = emu.addCertificate(ca.pem, { name: 'corp', activeOrg: true });
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL, 'activate-projects': 'proj_beta' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['certificate-id']).toBe(stored.id);
    expect(run.outputs.activated!.split(',').sort()).toEqual(['organization', 'proj_beta']);
  });

  it('a dry run and the real run agree on deletions, also for a certificate active only in a project not named', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const gone = emu.addCertificate(
      (await makeDatedCa(new Date(Date.now() - 400 * 86_400_000), new Date(Date.now() - 10 * 86_400_000), 'Expired')).pem,
      { name: 'old', skipValidation: true },
    );
    const inUse = emu.addCertificate(
      (await makeDatedCa(new Date(Date.now() - 400 * 86_400_000), new Date(Date.now() - 5 * 86_400_000), 'Expired, in use')).pem,
      { name: 'old', skipValidation: true, activeProjects: ['proj_gamma'] },
    );
    const inputs = { 'admin-api-key': key, certificate: makeCa({ cn: 'New' }).pem, 'base-url': emu.baseURL, 'delete-expired': 'true' };
    const dry = await runAction({ ...inputs, 'dry-run': 'true' });
    expect(dry.code, dry.stdout).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`will delete ${gone.id} \\(`));
    expect(dry.stdout).not.toMatch(new RegExp(`will delete[^\\n]*${inUse.id}`));
    expect(writes(emu)).toEqual([]);
    const real = await runAction(inputs);
    expect(real.code, real.stdout).toBe(0);
    expect(real.outputs.deleted).toBe(gone.id);
    expect(emu.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop())).toEqual([gone.id]);
  });

  it('names every unknown project in one error', async ({ emulator, expect }) => {
    const emu = await emulator();
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      'base-url': emu.baseURL,
      'activate-projects': 'proj_alpha,proj_666,proj_777,proj_888,proj_999',
    });
    expect(run.code).toBe(1);
    expect(writes(emu)).toEqual([]);
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/4 projects were not found \(404\): proj_666, proj_777, proj_888, proj_999\./);
    expect(errors[0]!.message).toMatch(/Check the id in activate-projects/);
  });

  it('explains when organization-level activation makes the plain host demand a client certificate', async ({ emulator, expect }) => {
    const emu = await emulator({ enforceOrgMtlsOnPlainHost: true });
    emu.addCertificate(makeCa({ cn: 'Old' }).pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa({ cn: 'New' }).pem,
      name: 'corp',
      'base-url': emu.baseURL,
      'activate-organization': 'true',
      'activate-projects': 'proj_alpha',
      'retire-previous': 'true',
    });
    expect(run.code).toBe(1);
    const error = run.annotations.find((a) => a.level === 'error')!;
    expect(error.message).toMatch(/client-certificate/);
    expect(error.message).toMatch(/client-key/);
  });
});

describe.concurrent('compiled action: pull-request comment', () => {
  it('creates one comment, then updates it in place', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await startFakeGitHub(FAKE_GITHUB_TOKEN);
    track(github);
    const dir = tempDir();
    const eventPath = path.join(dir, 'event.json');
    fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 }, repository: { name: 'repo', owner: { login: 'example' } } }));
    const env = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_API_URL: github.url,
      GITHUB_REPOSITORY: 'example/repo',
      GITHUB_JOB: 'check',
      GITHUB_ACTION: 'ca',
    };
    const ca = makeCa();
    const inputs = { 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL, 'dry-run': 'true', 'comment-on-pr': 'true' };

    const first = await runAction(inputs, { env });
    expect(first.code).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]!.body).toContain('<!-- openai-mtls-certificate-action check/ca -->');
    expect(github.comments[0]!.body).toContain(ca.fingerprint);
    expect(github.comments[0]!.body).toMatch(/\| `key-usage` \| ✅ pass/);

    const second = await runAction({ ...inputs, certificate: makeCa({ cn: 'Second' }).pem }, { env });
    expect(second.code).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]!.body).toContain('CN=Second');
    expect(github.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET', 'PATCH']);
  });

  it('a refused comment is a warning, not a failure', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await startFakeGitHub(FAKE_GITHUB_TOKEN);
    track(github);
    github.failWith = 403;
    const dir = tempDir();
    const eventPath = path.join(dir, 'event.json');
    fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 } }));
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL, 'dry-run': 'true', 'comment-on-pr': 'true' },
      { env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_API_URL: github.url } },
    );
    expect(run.code).toBe(0);
    expect(run.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        message: expect.stringMatching(
          /Could not comment on pull request #7: the token may not comment on pull requests here \(403\).*pull-requests: write/,
        ),
      }),
    );
  });
});
