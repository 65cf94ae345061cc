import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { proveCanary, type ProofDependencies, type ProofTarget } from '../../src/api/proof.ts';
import type { Logger } from '../../src/log.ts';
import { CLIENT_AUTH, issue } from '../helpers/chain.ts';
import { closedPort } from '../helpers/net.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const track = closeAfterEach();

// Made once for the file: a TLS server certificate for 127.0.0.1, and a client chain (leaf, intermediate, root).
const serverCa = await issue({ cn: 'Proof test server CA', ca: true });
const serverCert = await issue({ cn: '127.0.0.1', issuer: serverCa, ips: ['127.0.0.1'] });
const root = await issue({ cn: 'Proof test root CA', ca: true });
const intermediate = await issue({ cn: 'Proof test intermediate CA', ca: true, issuer: root });
const leaf = await issue({ cn: 'canary-runner', issuer: intermediate, eku: [CLIENT_AUTH] });
const untrustedServer = await issue({ cn: '127.0.0.1', ips: ['127.0.0.1'] });

// The SDK's transport (undici) trusts the default CA certificates; the test server's CA is added to them.
tls.setDefaultCACertificates([...tls.getCACertificates('default'), serverCa.pem]);

const CANARY_KEY = 'sk-proj-canary-proof-test-key-0001';

interface Reply {
  status: number;
  code?: string;
  message?: string;
}
interface Seen {
  path: string;
  authorization: string | undefined;
  /** CN of the client certificate, then of each certificate the client sent after it. */
  chain: string[];
  socket: Socket;
}

/**
 * An HTTPS server on 127.0.0.1 asking for a client certificate (and accepting any, as the test decides
 * what to answer): it answers the replies in turn, then the model list, and notes every request.
 */
async function serve(
  replies: Reply[] | 'hang',
  trust?: { ca: string; maxVersion?: tls.SecureVersion },
  identity = serverCert,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const queue = replies === 'hang' ? [] : [...replies];
  const server: Server = createServer(
    {
      key: identity.keyPem,
      cert: identity.pem,
      requestCert: true,
      ...(trust ? { rejectUnauthorized: true, ...trust } : { rejectUnauthorized: false }),
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as tls.TLSSocket;
      const chain: string[] = [];
      let peer: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      for (let depth = 0; peer?.subject && depth < 5; depth++) {
        chain.push(String(peer.subject.CN));
        peer = peer.issuerCertificate === peer ? undefined : peer.issuerCertificate;
      }
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, chain, socket });
      req.resume();
      if (replies === 'hang') return;
      const reply = queue.shift();
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-request-id', `req_${seen.length}`);
      if (!reply) {
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-test', object: 'model', created: 0, owned_by: 'test' }] }));
        return;
      }
      res.statusCode = reply.status;
      res.end(
        JSON.stringify({
          error: {
            message: reply.message ?? `emulated ${reply.code ?? reply.status}`,
            type: 'invalid_request_error',
            param: null,
            code: reply.code ?? null,
          },
        }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `https://127.0.0.1:${(server.address() as { port: number }).port}/v1`, seen };
}

/** A clock that moves only when the proof sleeps, and a log that keeps its lines. */
function fakeTime(): ProofDependencies & { sleeps: number[]; lines: string[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), notice: () => {}, warning: () => {}, error: () => {}, debug: () => {} };
  return {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    log,
    env: {},
    sleeps,
    lines,
  };
}

const target = (url: string, timeoutMs = 120_000): ProofTarget => ({
  mtlsBaseURL: url,
  apiKey: CANARY_KEY,
  clientCertificate: leaf.pem + intermediate.pem,
  clientKey: leaf.keyPem,
  timeoutMs,
});

describe('proveCanary: through the SDK to an HTTPS server that asks for a client certificate', () => {
  it('passes at once: one GET /v1/models with the canary key, presenting the chain leaf first', async () => {
    const server = await serve([]);
    const time = fakeTime();
    const result = await proveCanary(target(server.url), time);
    expect(result).toEqual({ passed: true, attempts: 1, elapsedMs: 0, host: new URL(server.url).host });
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]).toMatchObject({ path: '/v1/models', authorization: `Bearer ${CANARY_KEY}` });
    expect(server.seen[0]!.chain.slice(0, 2)).toEqual(['canary-runner', 'Proof test intermediate CA']);
    expect(time.sleeps).toEqual([]);
    expect(time.lines).toEqual([expect.stringMatching(/^Proof request 1 passed: 127\.0\.0\.1:\d+ accepted the canary client certificate/)]);
  });

  it('retries certificate_verification_failed with back-off, each time on a new connection, until it passes', async () => {
    const server = await serve([
      { status: 401, code: 'certificate_verification_failed' },
      { status: 401, code: 'certificate_verification_failed' },
      { status: 503 },
    ]);
    const time = fakeTime();
    const result = await proveCanary(target(server.url), time);
    expect(result).toMatchObject({ passed: true, attempts: 4 });
    expect(result.lastError).toBeUndefined();
    expect(time.sleeps).toEqual([1000, 2000, 4000]);
    expect(server.seen).toHaveLength(4);
    expect(new Set(server.seen.map((s) => s.socket)).size).toBe(4);
    expect(time.lines[0]).toMatch(
      /^Proof request 1 failed: the API answered 401 certificate_verification_failed: "emulated certificate_verification_failed" \(request id req_1\); trying again in 1 s \(120 s left\)\.$/,
    );
  });

  it('stops when canary-timeout-seconds runs out, and explains the last failure', async () => {
    const server = await serve(Array.from({ length: 10 }, () => ({ status: 401, code: 'certificate_verification_failed' })));
    const time = fakeTime();
    const result = await proveCanary(target(server.url, 5000), time);
    // Waits of 1 s and 2 s, then the 2 s left of the bound; the attempt after that is the last.
    expect(time.sleeps).toEqual([1000, 2000, 2000]);
    expect(result).toMatchObject({ passed: false, attempts: 4, elapsedMs: 5000 });
    expect(result.lastError).toMatchObject({ kind: 'certificate_verification_failed', status: 401, retryable: true, requestId: 'req_4' });
    expect(result.explanation).toMatch(
      /did not verify against a CA active for the canary project, for all of 5 s \(canary-timeout-seconds\)/,
    );
    expect(result.explanation).toMatch(/openssl verify -CAfile new-ca\.pem -untrusted intermediates\.pem client\.pem/);
    expect(time.lines.at(-1)).toMatch(/canary-timeout-seconds \(5 s\) has run out\.$/);
  });

  it.each([
    { code: 'certificate_required', status: 401, says: /received no client certificate.*TLS-inspecting proxy.*mtls-eu\.api\.openai\.com/ },
    { code: 'invalid_certificate', status: 400, says: /could not use canary-client-certificate as a client certificate/ },
    { code: 'certificate_attribute_verification_failed', status: 403, says: /certificate filter \(a CEL expression/ },
  ])('$code: not retried, explained in terms of what to fix', async ({ code, status, says }) => {
    const server = await serve([{ status, code }]);
    const time = fakeTime();
    const result = await proveCanary(target(server.url), time);
    expect(result).toMatchObject({ passed: false, attempts: 1, lastError: { kind: code, code, status, retryable: false } });
    expect(result.explanation).toMatch(says);
    expect(time.sleeps).toEqual([]);
    expect(time.lines.at(-1)).toMatch(/waiting will not fix this\.$/);
  });

  it('a 404 (a wrong mtls-base-url path) is not retried; a 429 is', async () => {
    const wrong = await serve([{ status: 404, code: 'not_found' }]);
    const result = await proveCanary(target(wrong.url), fakeTime());
    expect(result).toMatchObject({ passed: false, attempts: 1, lastError: { kind: 'http_error', status: 404, retryable: false } });
    expect(result.explanation).toMatch(/Check mtls-base-url/);
    const limited = await serve([{ status: 429, code: 'rate_limit_exceeded' }]);
    const time = fakeTime();
    expect(await proveCanary(target(limited.url), time)).toMatchObject({ passed: true, attempts: 2 });
    expect(time.sleeps).toEqual([1000]);
  });

  it('a 401 without an mTLS code: the canary key is bad; a key echoed by the API is not repeated', async () => {
    const server = await serve([
      {
        status: 401,
        code: 'invalid_api_key',
        message: `Incorrect API key provided: ${CANARY_KEY}. Also sk-svcacct-someoneElse123456 was seen.`,
      },
    ]);
    const time = fakeTime();
    const result = await proveCanary(target(server.url), time);
    expect(result).toMatchObject({ passed: false, attempts: 1, lastError: { kind: 'unauthorized', status: 401 } });
    expect(result.lastError!.message).toBe('Incorrect API key provided: [canary-api-key]. Also sk-[redacted] was seen.');
    expect(result.explanation).toMatch(/canary-api-key was rejected/);
    for (const text of [JSON.stringify(result), ...time.lines]) {
      expect(text).not.toContain(CANARY_KEY.slice(8));
      expect(text).not.toContain('someoneElse');
    }
  });

  it('a key echoed past the cut length is removed before the cut, so no fragment survives', async () => {
    const server = await serve([{ status: 403, message: `${'x'.repeat(290)}${CANARY_KEY}` }]);
    const result = await proveCanary(target(server.url), fakeTime());
    expect(result.lastError?.kind).toBe('forbidden');
    expect(result.lastError!.message).not.toContain('sk-proj-c');
    expect(result.explanation).toMatch(/may not list models/);
  });

  it.each([
    { version: 'TLSv1.3' as const, code: 'UND_ERR_SOCKET' },
    { version: 'TLSv1.2' as const, code: 'ECONNRESET' },
  ])('a server that refuses the client certificate in a $version handshake: retried, then explained', async ({ version, code }) => {
    // The server trusts only its own CA for client certificates, not the canary chain's root.
    const server = await serve([], { ca: serverCa.pem, maxVersion: version });
    const time = fakeTime();
    const result = await proveCanary(target(server.url, 2000), time);
    expect(result).toMatchObject({ passed: false, attempts: 3, lastError: { kind: 'connection_closed', code, retryable: true } });
    expect(server.seen).toEqual([]);
    expect(result.explanation).toMatch(
      /kept closing the connection for 2 s\. On an mTLS host this is how a client certificate refused in the TLS handshake shows/,
    );
  });

  it('a server whose TLS certificate is not trusted: not retried, NODE_EXTRA_CA_CERTS named', async () => {
    const server = await serve([], undefined, untrustedServer);
    const result = await proveCanary(target(server.url), fakeTime());
    expect(result).toMatchObject({ passed: false, attempts: 1, lastError: { kind: 'server_untrusted', retryable: false } });
    expect(result.explanation).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(server.seen).toEqual([]);
  });

  it('a server that never answers: each attempt times out, retried until the bound', async () => {
    const server = await serve('hang');
    const time = fakeTime();
    const result = await proveCanary(target(server.url, 1500), time);
    expect(result).toMatchObject({ passed: false, attempts: 3, lastError: { kind: 'timeout', retryable: true } });
    expect(time.sleeps).toEqual([1000, 500]);
    expect(server.seen).toHaveLength(3);
  });

  it('connection refused: retried until the bound, then explained', async () => {
    const port = await closedPort();
    const time = fakeTime();
    const result = await proveCanary(target(`https://127.0.0.1:${port}/v1`, 3000), time);
    expect(result).toMatchObject({ passed: false, attempts: 3, lastError: { kind: 'connection', code: 'ECONNREFUSED', retryable: true } });
    expect(time.sleeps).toEqual([1000, 2000]);
    expect(result.explanation).toMatch(/could not be reached for 3 s.*HTTPS_PROXY and NO_PROXY/);
  });
});
