import { X509Certificate } from 'node:crypto';
import { describe } from 'vitest';
import { makeCa } from '../helpers/certs.ts';
import { leaks, runAction } from '../helpers/action.ts';
import { serverTest as it } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';

describe.concurrent('compiled action: upload', () => {
  it('runs on Node 24, as GitHub runs node24 actions', ({ expect }) => {
    expect(process.version).toMatch(/^v24\./);
  });

  it('uploads the certificate once and hands id and expiry to later steps', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa({ cn: 'Upload CA', days: 400 });
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, name: 'corp-ca-2027', 'base-url': emu.baseURL });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    expect(emu.certificates).toHaveLength(1);
    const stored = emu.certificates[0]!;
    const uploads = emu.requests.filter((r) => r.method === 'POST' && r.path === '/v1/organization/certificates');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.body).toEqual({ certificate: ca.pem, name: 'corp-ca-2027' });

    const x509 = new X509Certificate(ca.pem);
    const expires = Math.floor(new Date(x509.validTo).getTime() / 1000);
    expect(run.outputs).toMatchObject({
      'certificate-id': stored.id,
      name: 'corp-ca-2027',
      fingerprint: ca.fingerprint,
      'valid-at': String(stored.valid_at),
      'expires-at': String(stored.expires_at),
      uploaded: 'true',
    });
    expect(stored.expires_at).toBe(expires);
    expect(run.outputs['expires-at-iso']).toBe(new Date(expires * 1000).toISOString().replace('.000Z', 'Z'));
    expect(run.outputs['days-until-expiry']).toMatch(/^(399|400)$/);
    expect(run.outputs['certificate-id']).toMatch(/^cert_/);

    expect(run.summary).toContain(stored.id);
    expect(run.summary).toContain('CN=Upload CA');
    expect(run.summary).toContain(ca.fingerprint);
    expect(run.summary).toMatch(/Uploaded/i);
    expect(leaks(run, [key])).toEqual([]);
    expect(run.masked).toContain(key);
  });

  it('makes at most three requests for a plain upload: one list, the upload, and the list that converges', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL });
    expect(run.code).toBe(0);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/organization/certificates',
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
    ]);
    expect(emu.requests[1]!.body).toEqual({ certificate: ca.pem });
    expect(run.outputs.name).toBe('');
  });

  it('reads the admin key from OPENAI_ADMIN_KEY when the input is empty', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const run = await runAction({ certificate: ca.pem, 'base-url': emu.baseURL }, { env: { OPENAI_ADMIN_KEY: key } });
    expect(run.code).toBe(0);
    expect(emu.certificates).toHaveLength(1);
    expect(run.masked).toContain(key);
  });

  it('uploads from certificate-file relative to GITHUB_WORKSPACE', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const run = await runAction(
      { 'admin-api-key': key, 'certificate-file': 'pki/ca.pem', 'base-url': emu.baseURL },
      { files: { 'pki/ca.pem': ca.pem } },
    );
    expect(run.code).toBe(0);
    expect(run.outputs.fingerprint).toBe(ca.fingerprint);
  });

  it('fails with one clear annotation when both or neither source is given, sending nothing', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const both = await runAction({ 'admin-api-key': key, certificate: ca.pem, 'certificate-file': 'ca.pem', 'base-url': emu.baseURL });
    expect(both.code).toBe(1);
    expect(both.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
    expect(both.annotations[0]!.message).toMatch(/Only one certificate source may be set, but certificate and certificate-file are set/);
    const neither = await runAction({ 'admin-api-key': key, 'base-url': emu.baseURL });
    expect(neither.code).toBe(1);
    expect(neither.annotations[0]!.message).toMatch(/No certificate given/);
    expect(emu.requests).toHaveLength(0);
    for (const run of [both, neither]) {
      expect(run.everything).not.toMatch(/\n\s+at /);
      expect(run.annotations[0]!.title).toBe('source');
      expect(run.summary).toMatch(/\| `source` \| ❌ fail \|/);
      expect(run.summary).toMatch(/\| `x509` \| ➖ not run \|/);
      expect(run.outputs['certificate-id']).toBe('');
    }
  });

  it('a dry run without an admin key sends nothing and reports from the certificate itself', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa({ days: 100 });
    const run = await runAction(
      { certificate: ca.pem, 'dry-run': 'true', 'base-url': emu.baseURL },
      { env: { OPENAI_ADMIN_KEY: undefined } },
    );
    expect(run.code).toBe(0);
    expect(emu.requests).toHaveLength(0);
    expect(run.outputs['certificate-id']).toBe('');
    expect(run.outputs.uploaded).toBe('false');
    expect(run.outputs['expires-at']).toBe(String(Math.floor(ca.notAfter.getTime() / 1000)));
    expect(run.outputs['valid-at']).toBe(String(Math.floor(ca.notBefore.getTime() / 1000)));
    expect(run.summary).toMatch(/nothing was sent/);
  });

  it('without an admin key and not a dry run, fails before sending anything', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const run = await runAction({ certificate: ca.pem, 'base-url': emu.baseURL }, { env: { OPENAI_ADMIN_KEY: undefined } });
    expect(run.code).toBe(1);
    expect(run.annotations[0]).toMatchObject({ level: 'error', title: 'input admin-api-key' });
    expect(run.annotations[0]!.message).toMatch(/secrets\.OPENAI_ADMIN_KEY/);
    expect(emu.requests).toHaveLength(0);
  });
});
