import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { createNodeFetch, nodeFetch } from '../../src/api/transport.ts';
import { DEFAULT_ADMIN_KEY, startEmulator } from '../emulator/emulator.ts';
import { makeCa, makeLeaf } from '../helpers/certs.ts';
import { closedPort } from '../helpers/net.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const track = closeAfterEach();

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  /** The client's port: the same port for two requests means one connection carried both. */
  port: number | undefined;
}

/** A plain HTTP server on 127.0.0.1 answering with `handler`, noting every request it saw. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body, port: req.socket.remotePort });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen };
}

describe('nodeFetch', () => {
  it('sends method, headers and body as given, with a Content-Length, and hands back status, headers and body', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      res.end('{"ok":true}');
    });
    const response = await nodeFetch(`${url}/v1/things?limit=2`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }),
      body: '{"a":"é"}',
    });
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(await response.json()).toEqual({ ok: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/things?limit=2', body: '{"a":"é"}' });
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer k', 'content-type': 'application/json', 'content-length': '10' });
  });

  it('sends a GET without a body or Content-Length, and keeps the connection for the next request', async () => {
    const { url, seen } = await serve((_req, res) => res.end('[]'));
    const response = await nodeFetch(`${url}/list`, { headers: { accept: 'application/json' } });
    expect(await response.text()).toBe('[]');
    expect(seen[0]?.method).toBe('GET');
    expect(seen[0]?.headers['content-length']).toBeUndefined();
    expect(seen[0]?.headers['transfer-encoding']).toBeUndefined();
    await (await nodeFetch(`${url}/again`)).text();
    expect(seen[1]?.port).toBe(seen[0]?.port);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('decodes a %s body and drops the encoding headers', async (encoding, compress) => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-encoding': encoding, 'content-type': 'application/json' });
      res.end(compress(Buffer.from('{"id":"cert_1"}')));
    });
    const response = await nodeFetch(url);
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.json()).toEqual({ id: 'cert_1' });
  });

  it('hands a 204 back with no body, and a redirect as it came, without following it', async () => {
    let calls = 0;
    const { url } = await serve((req, res) => {
      calls++;
      if (req.url === '/gone') res.writeHead(204).end();
      else res.writeHead(302, { location: '/elsewhere' }).end('moved');
    });
    const empty = await nodeFetch(`${url}/gone`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    const moved = await nodeFetch(`${url}/here`);
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/elsewhere');
    expect(calls).toBe(2);
  });

  it('rejects like fetch when the connection is refused: TypeError "fetch failed" with the socket error as cause', async () => {
    const port = await closedPort();
    const error = await nodeFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect(((error as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('rejects when the connection drops in the middle of a body, instead of handing back half of it', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"id":"cert_');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const error = await nodeFetch(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
  });

  it('rejects with an AbortError when the signal fires: before the request, waiting for the answer, or in the middle of the body', async () => {
    const { url } = await serve(() => {
      /* never answers */
    });
    const late = new AbortController();
    const pending = nodeFetch(url, { signal: late.signal });
    setTimeout(() => late.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const { url: stalling } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"id":');
    });
    const midBody = new AbortController();
    const halfRead = nodeFetch(stalling, { signal: midBody.signal });
    setTimeout(() => midBody.abort(), 50);
    await expect(halfRead).rejects.toMatchObject({ name: 'AbortError' });

    const early = new AbortController();
    early.abort();
    await expect(nodeFetch(url, { signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('with a client certificate, still reaches a plain-HTTP URL (the certificate is for HTTPS; e2e/mtls covers that)', async () => {
    const client = makeLeaf(makeCa({ cn: 'Transport client CA' }), 'transport-client');
    const withCert = createNodeFetch({ cert: client.pem, key: client.keyPem });
    const { url, seen } = await serve((_req, res) => res.end('ok'));
    expect(await (await withCert(url)).text()).toBe('ok');
    expect(seen).toHaveLength(1);
  });

  it('refuses protocols and bodies it does not carry, without connecting', async () => {
    await expect(nodeFetch('ftp://127.0.0.1/')).rejects.toThrow(/unsupported protocol ftp:/);
    const { url, seen } = await serve((_req, res) => res.end());
    await expect(nodeFetch(url, { method: 'POST', body: new URLSearchParams('a=1') })).rejects.toThrow(
      /only string and byte request bodies/,
    );
    expect(seen).toHaveLength(0);
  });
});

describe('nodeFetch under the official SDK', () => {
  const client = (baseURL: string, timeout = 5000) =>
    new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL, maxRetries: 0, timeout, logLevel: 'off', fetch: nodeFetch });

  it('uploads and lists a certificate on the emulator', async () => {
    const emu = track(await startEmulator());
    const sdk = client(emu.baseURL);
    const ca = makeCa({ cn: 'Transport CA' });
    const created = await sdk.admin.organization.certificates.create({ certificate: ca.pem, name: 'transport' });
    expect(created.id).toMatch(/^cert_/);
    const listed = await sdk.admin.organization.certificates.list({ limit: 10 });
    expect(listed.data.map((c) => c.id)).toEqual([created.id]);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/organization/certificates',
      'GET /v1/organization/certificates',
    ]);
  });

  it('gives the SDK its APIError for an error status, its timeout error for a hang, and its connection error for a refusal', async () => {
    const emu = track(await startEmulator());
    emu.addFault({ kind: 'status', status: 429 });
    const sdk = client(emu.baseURL, 300);
    await expect(sdk.admin.organization.certificates.list()).rejects.toBeInstanceOf(APIError);
    emu.addFault({ kind: 'hang' });
    await expect(sdk.admin.organization.certificates.list()).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    const refused = await client(`http://127.0.0.1:${await closedPort()}/v1`)
      .admin.organization.certificates.list()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(APIConnectionError);
    expect(refused).not.toBeInstanceOf(APIConnectionTimeoutError);
  });
});
