import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/api/client.ts';
import type { Connection } from '../../src/inputs/connection.ts';
import { DEFAULT_ADMIN_KEY, startEmulator } from '../emulator/emulator.ts';
import { API_ALIAS, viaAlias } from '../helpers/alias.ts';
import { makeCa, makeLeaf } from '../helpers/certs.ts';
import { closedPort } from '../helpers/net.ts';
import { startProxy } from '../helpers/proxy.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const track = closeAfterEach();

/** A plain HTTP server on 127.0.0.1 answering with `handler`, noting every request it saw. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

function connection(baseURL: string, overrides: Partial<Connection> = {}): Connection {
  return {
    adminApiKey: DEFAULT_ADMIN_KEY,
    baseURL,
    maxRetries: 0,
    timeoutMs: 5000,
    clientCertificate: undefined,
    clientKey: undefined,
    mtlsBaseURL: baseURL,
    ...overrides,
  };
}

const clientTls = (() => {
  let made: { clientCertificate: string; clientKey: string } | undefined;
  return () => {
    if (!made) {
      const leaf = makeLeaf(makeCa({ cn: 'Client test CA' }), 'client-test');
      made = { clientCertificate: leaf.pem, clientKey: leaf.keyPem };
    }
    return made;
  };
})();

/** The test proxy, knowing API_ALIAS (see test/helpers/alias.ts): loopback hosts are never proxied. */
const startAliasProxy = () => startProxy([API_ALIAS]);

/**
 * The three transports: the SDK's default fetch; undici's fetch with an Agent (client certificate); with an
 * EnvHttpProxyAgent. `url` gives the address the client is given for a server on 127.0.0.1: with the proxy,
 * a name only the proxy knows, since a loopback host is always reached directly.
 */
const transports = [
  { name: 'plain (the default fetch)', env: () => ({}), tls: () => ({}), url: (u: string) => u },
  { name: 'client certificate (undici Agent)', env: () => ({}), tls: clientTls, url: (u: string) => u },
  { name: 'proxy (undici EnvHttpProxyAgent)', env: (proxy: string) => ({ HTTP_PROXY: proxy }), tls: () => ({}), url: viaAlias },
] as const;

describe('createClient', () => {
  it.each(transports)('$name: uploads and lists on the emulator through the SDK', async (transport) => {
    const emu = track(await startEmulator());
    const proxy = track(await startAliasProxy());
    const target = await createClient(connection(transport.url(emu.baseURL), transport.tls()), transport.env(proxy.url));
    const ca = makeCa({ cn: 'Client CA' });
    const created = await target.client.admin.organization.certificates.create({ certificate: ca.pem, name: 'client' });
    const listed = await target.client.admin.organization.certificates.list({ limit: 10 });
    expect(listed.data.map((c) => c.id)).toEqual([created.id]);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
    ]);
    expect(proxy.seen.length).toBe(transport.name.startsWith('proxy') ? 2 : 0);
    expect(target.proxy).toBe(transport.name.startsWith('proxy') ? proxy.url : undefined);
    expect(target.baseURL).toBe(transport.url(emu.baseURL));
  });

  it.each(transports)('$name: never follows a redirect, so the admin key goes nowhere else', async (transport) => {
    const elsewhere = await serve((_req, res) => res.end('{}'));
    const redirecting = await serve((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/v1/organization/certificates`, 'content-type': 'application/json' });
      res.end('{"error":{"message":"moved","type":"invalid_request_error","param":null,"code":null}}');
    });
    const proxy = track(await startAliasProxy());
    const { client } = await createClient(connection(transport.url(`${redirecting.url}/v1`), transport.tls()), transport.env(proxy.url));
    const error = await client.admin.organization.certificates.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(307);
    expect(redirecting.seen).toHaveLength(1);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it.each(transports)('$name: decodes a gzip body as fetch does', async (transport) => {
    const body = gzipSync(JSON.stringify({ object: 'list', data: [], first_id: null, last_id: null, has_more: false }));
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
    });
    const proxy = track(await startAliasProxy());
    const { client } = await createClient(connection(transport.url(`${server.url}/v1`), transport.tls()), transport.env(proxy.url));
    const page = await client.admin.organization.certificates.list();
    expect(page.data).toEqual([]);
  });

  it.each(transports)(
    '$name: gives the SDK its APIError for a status, its timeout error for a hang, its connection error for a refusal',
    async (transport) => {
      const emu = track(await startEmulator());
      const proxy = track(await startAliasProxy());
      const env = transport.env(proxy.url);
      const { client } = await createClient(connection(transport.url(emu.baseURL), { ...transport.tls(), timeoutMs: 300 }), env);
      emu.addFault({ kind: 'status', status: 429 });
      await expect(client.admin.organization.certificates.list()).rejects.toBeInstanceOf(APIError);
      emu.addFault({ kind: 'hang' });
      await expect(client.admin.organization.certificates.list()).rejects.toBeInstanceOf(APIConnectionTimeoutError);
      // Refused: the API host, or with a proxy the proxy itself (the proxy would answer 502 for the host).
      const dead = `http://127.0.0.1:${await closedPort()}`;
      const closed = transport.name.startsWith('proxy')
        ? await createClient(connection(transport.url(emu.baseURL), transport.tls()), transport.env(dead))
        : await createClient(connection(`${dead}/v1`, transport.tls()), env);
      const refused = await closed.client.admin.organization.certificates.list().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(APIConnectionError);
      expect(refused).not.toBeInstanceOf(APIConnectionTimeoutError);
    },
  );

  it.each([
    { name: 'HTTP_PROXY', host: '127.0.0.1', env: (proxy: string) => ({ HTTP_PROXY: proxy }) },
    { name: 'http_proxy and HTTPS_PROXY', host: '127.0.0.1', env: (proxy: string) => ({ http_proxy: proxy, HTTPS_PROXY: proxy }) },
    { name: 'HTTP_PROXY, to localhost', host: 'localhost', env: (proxy: string) => ({ HTTP_PROXY: proxy }) },
    {
      name: 'HTTP_PROXY and NO_PROXY naming another host',
      host: '127.0.0.1',
      env: (proxy: string) => ({ HTTP_PROXY: proxy, NO_PROXY: 'example.test' }),
    },
  ])('plain http to a loopback host with $name goes direct: the proxy receives nothing', async ({ host, env }) => {
    const emu = track(await startEmulator());
    const proxy = track(await startAliasProxy());
    const target = await createClient(connection(emu.baseURL.replace('127.0.0.1', host)), env(proxy.url));
    await target.client.admin.organization.certificates.list();
    expect(emu.requests).toHaveLength(1);
    expect(proxy.seen).toEqual([]);
    expect(target.proxy).toBeUndefined();
  });

  it('with a client certificate too, a loopback host is reached directly, and a host that is not loopback through the proxy', async () => {
    const emu = track(await startEmulator());
    const proxy = track(await startAliasProxy());
    const direct = await createClient(connection(emu.baseURL, clientTls()), { HTTP_PROXY: proxy.url });
    await direct.client.admin.organization.certificates.list();
    expect(proxy.seen).toEqual([]);
    const proxied = await createClient(connection(viaAlias(emu.baseURL), clientTls()), { HTTP_PROXY: proxy.url });
    await proxied.client.admin.organization.certificates.list();
    const aliased = new URL(viaAlias(emu.baseURL)).host;
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen.every((line) => line.includes(aliased))).toBe(true);
    expect(emu.requests).toHaveLength(2);
  });

  it('names no proxy for an https loopback host, and names it for any other host', async () => {
    const env = { HTTPS_PROXY: 'http://proxy.example.test:3128' };
    for (const url of ['https://127.0.0.1:8443/v1', 'https://localhost/v1', 'https://[::1]:8443/v1'])
      expect((await createClient(connection(url), env)).proxy, url).toBeUndefined();
    expect((await createClient(connection('https://127.0.0.1.example.test/v1'), env)).proxy).toBe('http://proxy.example.test:3128');
  });

  it('names the proxy without its credentials, and goes to mtls-base-url when a client certificate is given', async () => {
    const target = await createClient(
      connection('https://api.example.test/v1', { ...clientTls(), mtlsBaseURL: 'https://mtls.example.test/v1' }),
      { https_proxy: 'http://user:secret@proxy.example.test:3128' },
    );
    expect(target.proxy).toBe('http://proxy.example.test:3128');
    expect(target.baseURL).toBe('https://mtls.example.test/v1');
    expect(target.client.baseURL).toBe('https://mtls.example.test/v1');
  });

  it('passes the base URL and key explicitly, so OPENAI_BASE_URL and OPENAI_ADMIN_KEY in the environment change nothing', async () => {
    const emu = track(await startEmulator());
    const saved = { url: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_ADMIN_KEY };
    process.env.OPENAI_BASE_URL = `http://127.0.0.1:${await closedPort()}/v1`;
    process.env.OPENAI_ADMIN_KEY = 'sk-admin-from-the-environment';
    try {
      const { client } = await createClient(connection(emu.baseURL));
      await client.admin.organization.certificates.list();
      expect(emu.requests).toHaveLength(1);
    } finally {
      for (const [name, value] of [
        ['OPENAI_BASE_URL', saved.url],
        ['OPENAI_ADMIN_KEY', saved.key],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
