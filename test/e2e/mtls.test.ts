import { describe } from 'vitest';
import { startEmulator } from '../emulator/emulator.ts';
import { leaks, runAction } from '../helpers/action.ts';
import { makeCa, makeLeaf } from '../helpers/certs.ts';
import { API_ALIAS, makeAliasServer, viaAlias } from '../helpers/alias.ts';
import { startProxy } from '../helpers/proxy.ts';
import { serverTest as it, type Closable } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';

/** The mTLS host: HTTPS with a server certificate from a test CA, demanding a client certificate that chains to an active CA. */
async function mtlsHost(track: <T extends Closable>(server: T) => T) {
  const serverCa = makeCa({ cn: 'Test server CA' });
  // For 127.0.0.1 and for the name only the test proxy knows (loopback is never proxied).
  const server = makeAliasServer(serverCa);
  const emu = track(await startEmulator({ tls: { key: server.keyPem, cert: server.pem }, requireClientCertificate: true }));
  const trustAnchor = makeCa({ cn: 'Client trust anchor' });
  const anchor = emu.addCertificate(trustAnchor.pem, { name: 'corp', activeOrg: true });
  const client = makeLeaf(trustAnchor, 'ci-runner');
  return { emu, serverCa, anchor, client };
}

describe.concurrent('compiled action: calls through the mTLS host', () => {
  it('presents client-certificate and client-key, and every call passes', async ({ track, expect }) => {
    const { emu, serverCa, anchor, client } = await mtlsHost(track);
    const next = makeCa({ cn: 'Next trust anchor' });
    const run = await runAction(
      {
        'admin-api-key': key,
        certificate: next.pem,
        name: 'corp',
        'mtls-base-url': emu.baseURL,
        'client-certificate': client.pem,
        'client-key': client.keyPem,
        'activate-organization': 'true',
        'retire-previous': 'true',
      },
      { env: { NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.retired).toBe(anchor.id);
    expect(emu.activeIn('organization')).toEqual([run.outputs['certificate-id']]);
    expect(emu.requests.length).toBeGreaterThan(3);
    for (const request of emu.requests) expect(request.clientCertSubject).toMatch(/ci-runner/);
    expect(leaks(run, [client.keyPem, key])).toEqual([]);
    for (const line of client.keyPem.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))) expect(run.masked).toContain(line);
  });

  it('presents the client certificate through an HTTPS_PROXY tunnel as well', async ({ track, expect }) => {
    const { emu, serverCa, client } = await mtlsHost(track);
    const proxy = track(await startProxy([API_ALIAS]));
    const run = await runAction(
      {
        'admin-api-key': key,
        certificate: makeCa({ cn: 'Proxied CA' }).pem,
        'mtls-base-url': viaAlias(emu.baseURL),
        'client-certificate': client.pem,
        'client-key': client.keyPem,
      },
      { env: { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toContain('POST /v1/organization/certificates');
    for (const request of emu.requests) expect(request.clientCertSubject).toMatch(/ci-runner/);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen.every((line) => line === `CONNECT ${API_ALIAS}:${new URL(emu.baseURL).port}`)).toBe(true);
  });

  it('without a client certificate, fails and says how to present one', async ({ track, expect }) => {
    const { emu, serverCa } = await mtlsHost(track);
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL },
      { env: { NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.code).toBe(1);
    const error = run.annotations.find((a) => a.level === 'error')!;
    expect(error.message).toMatch(/client-certificate and client-key/);
    expect(emu.certificates).toHaveLength(1);
  });

  it('refuses client-certificate without client-key before sending anything', async ({ track, expect }) => {
    const { emu, client } = await mtlsHost(track);
    const run = await runAction({
      'admin-api-key': key,
      certificate: makeCa().pem,
      'mtls-base-url': emu.baseURL,
      'client-certificate': client.pem,
    });
    expect(run.code).toBe(1);
    expect(run.annotations[0]!.message).toMatch(/client-certificate and client-key go together/);
    expect(emu.requests).toHaveLength(0);
  });
});
