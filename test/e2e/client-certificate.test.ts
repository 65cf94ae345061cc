import { describe } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { leaks, runAction } from '../helpers/action.ts';
import { makeCa, makeLeaf } from '../helpers/certs.ts';
import { CLIENT_AUTH, issue } from '../helpers/chain.ts';
import { serverTest as it, type Closable } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';

// Made once for the file: the emulator's TLS identity, and a client chain (leaf, intermediate, root).
const serverCa = makeCa({ cn: 'Test server CA' });
const server = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
const root = await issue({ cn: 'Client root CA', ca: true });
const intermediate = await issue({ cn: 'Client intermediate CA', ca: true, issuer: root });
const leaf = await issue({ cn: 'ci-runner-chained', issuer: intermediate, eku: [CLIENT_AUTH] });
const stranger = await issue({ cn: 'stranger', issuer: root, eku: [CLIENT_AUTH] });

/** The mTLS host: HTTPS, demanding a client certificate issued by a CA active for the organization (the intermediate). */
async function mtlsHost(track: <T extends Closable>(server: T) => T): Promise<Emulator> {
  const emu = track(await startEmulator({ tls: { key: server.keyPem, cert: server.pem }, requireClientCertificate: true }));
  emu.addCertificate(intermediate.pem, { name: 'corp-intermediate', activeOrg: true });
  return emu;
}

const env = { NODE_EXTRA_CA_CERTS: serverCa.certPath };

describe.concurrent('compiled action: client certificates checked locally, chains presented leaf first', () => {
  it('a client key that does not match the certificate is refused, naming client-key, with zero requests', async ({ track, expect }) => {
    const emu = await mtlsHost(track);
    const run = await runAction(
      {
        'admin-api-key': key,
        certificate: makeCa({ cn: 'Next CA' }).pem,
        'mtls-base-url': emu.baseURL,
        'client-certificate': leaf.pem + intermediate.pem,
        'client-key': stranger.keyPem,
      },
      { env },
    );
    expect(run.code).toBe(1);
    expect(emu.requests).toEqual([]);
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.title).toBe('input client-key');
    expect(errors[0]!.message).toMatch(
      /^client-key is not the private key of client-certificate \(the client certificate CN=ci-runner-chained, O=Example Test\)\. Nothing was sent\./,
    );
    expect(run.stdout).not.toMatch(/\n\s+at /);
    expect(leaks(run, [key, stranger.keyPem, leaf.keyPem])).toEqual([]);
  });

  it('a chain given in the wrong order is refused before any request', async ({ track, expect }) => {
    const emu = await mtlsHost(track);
    const run = await runAction(
      {
        'admin-api-key': key,
        certificate: makeCa({ cn: 'Next CA' }).pem,
        'mtls-base-url': emu.baseURL,
        'client-certificate': intermediate.pem + leaf.pem,
        'client-key': leaf.keyPem,
      },
      { env },
    );
    expect(run.code).toBe(1);
    expect(emu.requests).toEqual([]);
    const error = run.annotations.find((a) => a.level === 'error')!;
    expect(error.title).toBe('input client-key');
    expect(error.message).toMatch(/client-key is the key of certificate 2 of client-certificate .*must come first/);
  });

  it('a leaf and its intermediate: presented leaf first, every call passes the mTLS host', async ({ track, expect }) => {
    const emu = await mtlsHost(track);
    const run = await runAction(
      {
        'admin-api-key': key,
        certificate: makeCa({ cn: 'Next CA' }).pem,
        name: 'corp',
        'mtls-base-url': emu.baseURL,
        'client-certificate': leaf.pem + intermediate.pem,
        'client-key': leaf.keyPem,
      },
      { env },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toContain('POST /v1/organization/certificates');
    // What the host sees as the client certificate is the leaf: the first certificate of the input.
    for (const request of emu.requests) expect(request.clientCertSubject).toBe('CN=ci-runner-chained\nO=Example Test');
    expect(leaks(run, [key, leaf.keyPem])).toEqual([]);
  });
});
