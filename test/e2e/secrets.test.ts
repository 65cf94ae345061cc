/**
 * Leak test: the scenarios of faults.test.ts and more, every one with the runner's debug logging on
 * (RUNNER_DEBUG=1, ACTIONS_STEP_DEBUG=true) and the SDK asked for debug logging (OPENAI_LOG=debug).
 * Neither the admin key, nor a client key, nor a private key given by mistake, nor the GitHub token
 * may show anywhere a person or a later step can read (stdout, stderr, summary, outputs, the PR
 * comment) other than in ::add-mask:: lines; the certificate's PEM body is not printed either, and
 * no raw API response or SDK debug line is.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import * as path from 'node:path';
import { describe, type ExpectStatic } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { FAKE_GITHUB_TOKEN, leaks, runAction, runStatusAction, type ActionRun } from '../helpers/action.ts';
import { makeCa, makeDatedCa, makeLeaf, tempDir, type MadeCertificate } from '../helpers/certs.ts';
import { startFakeGitHub } from '../helpers/fake-github.ts';
import { closedPort } from '../helpers/net.ts';
import { startProxy } from '../helpers/proxy.ts';
import { serverTest as it, type Closable } from '../helpers/servers.ts';

const adminKey = 'sk-admin-emulator-test-key';
const DEBUG_ENV = { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true', OPENAI_LOG: 'debug' };
const UPLOAD = '/organization/certificates';
const DAY = 86_400_000;

/** Lines of a PEM body (base64), armour left out. */
function bodyLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 8 && !l.startsWith('-----'));
}

/** Every check a run must pass, whatever happened in it. */
function expectNothingLeaked(expect: ExpectStatic, run: ActionRun, secrets: string[], certificate?: MadeCertificate): void {
  expect(leaks(run, secrets)).toEqual([]);
  // Each secret line was registered with the masker before the first line of any other kind.
  const lines = run.stdout.split('\n');
  const firstOther = lines.findIndex((l) => l.length > 0 && !l.startsWith('::add-mask::'));
  const maskedEarly = new Set(
    lines
      .slice(0, firstOther < 0 ? lines.length : firstOther)
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length)),
  );
  for (const secret of secrets) {
    if (!run.everything.includes(secret.trim()) && !bodyLines(secret).some((l) => run.masked.includes(l))) continue; // never given to this run
    expect(
      maskedEarly.has(secret.trim()) || bodyLines(secret).every((l) => maskedEarly.has(l)),
      `masked before the first log line: ${secret.slice(0, 20)}…`,
    ).toBe(true);
  }
  const visible = [run.stdout, run.stderr]
    .join('\n')
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  if (certificate) {
    for (const line of bodyLines(certificate.pem)) {
      expect(visible, 'the certificate PEM body is not printed').not.toContain(line);
      expect(run.summary, 'the summary shows the fingerprint, not the PEM').not.toContain(line);
    }
  }
  // No SDK debug logging, no raw API response, no request headers.
  expect(visible).not.toMatch(/sending request|response start|\[log_[0-9a-f]+\]/);
  expect(visible).not.toMatch(/"certificate_details"|"object":\s*"(list|certificate)"|certificate_ids/);
  expect(visible).not.toMatch(/authorization|bearer /i);
}

type Track = <T extends Closable>(server: T) => T;

const secretsOf = (...extra: string[]): string[] => [adminKey, FAKE_GITHUB_TOKEN, ...extra];

describe.concurrent('compiled action with debug logging on: nothing leaks', () => {
  it('a successful upload, activation and retirement', async ({ emulator, expect }) => {
    const emu = await emulator();
    const old = makeCa({ cn: 'Old' });
    emu.addCertificate(old.pem, { name: 'corp', activeOrg: true, activeProjects: ['proj_alpha'] });
    const ca = makeCa();
    const run = await runAction(
      {
        'admin-api-key': adminKey,
        certificate: ca.pem,
        name: 'corp',
        'base-url': emu.baseURL,
        'activate-organization': 'true',
        'activate-projects': 'proj_alpha',
        'retire-previous': 'true',
      },
      { env: DEBUG_ENV },
    );
    expect(run.code).toBe(0);
    expect(run.masked).toContain(adminKey);
    expect(run.masked).toContain(FAKE_GITHUB_TOKEN);
    expectNothingLeaked(expect, run, secretsOf(), ca);
    expect(run.summary).toContain(ca.fingerprint);
  });

  it('the admin key from OPENAI_ADMIN_KEY', async ({ emulator, expect }) => {
    const emu = await emulator();
    const ca = makeCa();
    const run = await runAction({ certificate: ca.pem, 'base-url': emu.baseURL }, { env: { ...DEBUG_ENV, OPENAI_ADMIN_KEY: adminKey } });
    expect(run.code).toBe(0);
    expect(run.masked).toContain(adminKey);
    expectNothingLeaked(expect, run, secretsOf(), ca);
  });

  // One test per case, so that the cases (each a run with its back-off waits) run side by side.
  it.for([
    ['429', { kind: 'status', status: 429, headers: { 'Retry-After': '0' } }],
    ['500', { kind: 'status', status: 500 }],
    ['a dropped connection', { kind: 'drop-before' }],
    ['a lost answer', { kind: 'drop-after' }],
  ] as const)('faults on the upload: %s', async ([, fault], { emulator, expect }) => {
    const emu = await emulator();
    emu.addFault({ ...fault, method: 'POST', path: UPLOAD });
    const ca = makeCa();
    const run = await runAction({ 'admin-api-key': adminKey, certificate: ca.pem, 'base-url': emu.baseURL }, { env: DEBUG_ENV });
    expect(run.code, fault.kind).toBe(0);
    expect(emu.certificates).toHaveLength(1);
    expectNothingLeaked(expect, run, secretsOf(), ca);
  });

  const wrongKey = 'sk-admin-wrong-key-0123456789abcdef';
  it.for<{
    name: string;
    setup: (emu: Emulator) => void | Promise<void>;
    inputs?: (closed: number) => Record<string, string>;
    secrets?: string[];
  }>([
    {
      name: 'a hanging API',
      setup: (emu) => emu.addFault({ kind: 'hang', times: Infinity }),
      inputs: () => ({ 'timeout-seconds': '1', 'max-retries': '0' }),
    },
    { name: 'a wrong key (401)', setup: () => undefined, inputs: () => ({ 'admin-api-key': wrongKey }), secrets: [wrongKey] },
    { name: '403', setup: (emu) => emu.addFault({ kind: 'status', status: 403, method: 'GET', path: UPLOAD }) },
    {
      name: 'a full organization',
      setup: (emu) => {
        const other = makeCa();
        for (let i = 0; i < 50; i++) emu.addCertificate(other.pem);
      },
    },
    {
      name: 'an unreachable host',
      setup: () => undefined,
      inputs: (port) => ({ 'base-url': `http://127.0.0.1:${port}/v1`, 'max-retries': '0' }),
    },
    {
      name: 'the upload refused',
      setup: (emu) => emu.addFault({ kind: 'status', status: 400, code: 'mtls_certificate_invalid', method: 'POST', path: UPLOAD }),
    },
  ])('failures: $name', async (c, { emulator, expect }) => {
    const emu = await emulator();
    await c.setup(emu);
    const ca = makeCa();
    const run = await runAction(
      { 'admin-api-key': adminKey, certificate: ca.pem, 'base-url': emu.baseURL, ...c.inputs?.(await closedPort()) },
      { env: DEBUG_ENV },
    );
    expect(run.code, c.name).toBe(1);
    expect(
      run.annotations.filter((a) => a.level === 'error'),
      c.name,
    ).toHaveLength(1);
    expectNothingLeaked(expect, run, secretsOf(...(c.secrets ?? [])), ca);
  });

  it('a private key in the certificate input, as PEM and as base64 of the PEM: masked, never shown, nothing sent', async ({
    emulator,
    expect,
  }) => {
    const ca = makeCa({ key: 'rsa' });
    for (const certificate of [
      `${ca.pem}${ca.keyPem}`,
      `${ca.keyPem}\n${ca.pem}`,
      Buffer.from(`${ca.pem}${ca.keyPem}`).toString('base64'),
    ]) {
      const emu = await emulator();
      const run = await runAction({ 'admin-api-key': adminKey, certificate, 'base-url': emu.baseURL }, { env: DEBUG_ENV });
      expect(run.code).toBe(1);
      expect(run.annotations.find((a) => a.level === 'error')?.title).toBe('private-key');
      expect(emu.requests).toHaveLength(0);
      expectNothingLeaked(expect, run, secretsOf(ca.keyPem), ca);
      for (const line of bodyLines(ca.keyPem)) expect(run.masked).toContain(line);
      if (!certificate.includes('-----')) {
        expect(run.masked).toContain(certificate);
        expect(
          run.everything
            .split('\n')
            .filter((l) => !l.startsWith('::add-mask::'))
            .join('\n'),
        ).not.toContain(certificate.slice(0, 64));
      }
    }
  });

  it('a private key in certificate-file: never shown', async ({ emulator, expect }) => {
    const ca = makeCa();
    const emu = await emulator();
    const run = await runAction(
      { 'admin-api-key': adminKey, 'certificate-file': 'ca-and-key.pem', 'base-url': emu.baseURL },
      { env: DEBUG_ENV, files: { 'ca-and-key.pem': `${ca.pem}${ca.keyPem}` } },
    );
    expect(run.code).toBe(1);
    expect(emu.requests).toHaveLength(0);
    expectNothingLeaked(expect, run, secretsOf(ca.keyPem), ca);
  });

  it('client-certificate and client-key given, calling an HTTPS emulator as the mTLS host', async ({ emulator, expect }) => {
    const serverCa = makeCa({ cn: 'Test server CA' });
    const server = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
    const emu = await emulator({ tls: { key: server.keyPem, cert: server.pem } });
    const anchor = makeCa({ cn: 'Anchor' });
    const client = makeLeaf(anchor, 'ci-runner');
    const ca = makeCa();
    const run = await runAction(
      {
        'admin-api-key': adminKey,
        certificate: ca.pem,
        'mtls-base-url': emu.baseURL,
        'client-certificate': client.pem,
        'client-key': client.keyPem,
      },
      { env: { ...DEBUG_ENV, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.code).toBe(0);
    for (const line of bodyLines(client.keyPem)) expect(run.masked).toContain(line);
    expectNothingLeaked(expect, run, secretsOf(client.keyPem), ca);
  });

  it('client-certificate and client-key against a TLS host that demands a client certificate: success, refusal, bad key', async ({
    emulator,
    expect,
  }) => {
    const serverCa = makeCa({ cn: 'Test server CA' });
    const server = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
    const anchor = makeCa({ cn: 'Client trust anchor' });
    const good = makeLeaf(anchor, 'ci-runner');
    const stranger = makeLeaf(makeCa({ cn: 'Unknown CA' }), 'stranger');
    const cases = [
      { name: 'chains to the active anchor', cert: good.pem, key: good.keyPem, code: 0 },
      { name: 'chains to nothing active', cert: stranger.pem, key: stranger.keyPem, code: 1 },
      {
        name: 'key of another certificate',
        cert: good.pem,
        key: stranger.keyPem,
        code: 1,
        says: /client-key is not the private key of client-certificate/,
      },
      {
        name: 'a key that is not PEM',
        cert: good.pem,
        key: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0IHRoYXQgbG9va3MgbGlrZSBiYXNlNjQ=\n-----END PRIVATE KEY-----\n',
        code: 1,
        says: /client-certificate or client-key could not be read/,
      },
    ];
    for (const c of cases) {
      const emu = await emulator({ tls: { key: server.keyPem, cert: server.pem }, requireClientCertificate: true });
      emu.addCertificate(anchor.pem, { name: 'anchor', activeOrg: true });
      const ca = makeCa();
      const run = await runAction(
        {
          'admin-api-key': adminKey,
          certificate: ca.pem,
          'mtls-base-url': emu.baseURL,
          'client-certificate': c.cert,
          'client-key': c.key,
          'max-retries': '0',
        },
        { env: { ...DEBUG_ENV, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
      );
      expect(run.code, `${c.name}\n${run.stdout}\n${run.stderr}`).toBe(c.code);
      if (c.code === 1)
        expect(
          run.annotations.filter((a) => a.level === 'error'),
          c.name,
        ).toHaveLength(1);
      if (c.says) expect(run.annotations.find((a) => a.level === 'error')?.message, c.name).toMatch(c.says);
      expect(run.stdout).not.toMatch(/\n\s+at /);
      expectNothingLeaked(expect, run, secretsOf(good.keyPem, stranger.keyPem, c.key), ca);
    }
  });

  it('the pull-request comment carries no secret and no PEM', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await startFakeGitHub(FAKE_GITHUB_TOKEN);
    track(github);
    const eventPath = path.join(tempDir(), 'event.json');
    fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 }, repository: { name: 'repo', owner: { login: 'example' } } }));
    const ca = makeCa();
    const expired = await makeDatedCa(new Date(Date.now() - 40 * DAY), new Date(Date.now() - DAY), 'Expired');
    emu.addCertificate(expired.pem, { skipValidation: true });
    const run = await runAction(
      { 'admin-api-key': adminKey, certificate: ca.pem, 'base-url': emu.baseURL, 'comment-on-pr': 'true', 'delete-expired': 'true' },
      { env: { ...DEBUG_ENV, GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_API_URL: github.url } },
    );
    expect(run.code).toBe(0);
    expectNothingLeaked(expect, run, secretsOf(), ca);
    expect(github.comments).toHaveLength(1);
    const comment = github.comments[0]!.body;
    expect(comment).toContain(ca.fingerprint);
    for (const secret of [adminKey, FAKE_GITHUB_TOKEN]) expect(comment).not.toContain(secret);
    for (const line of bodyLines(ca.pem)) expect(comment).not.toContain(line);
  });
});

// ---------------------------------------------------------------------------------------------------
// Issue 22: every byte searched for every fragment of 8 or more characters of every secret.
// ---------------------------------------------------------------------------------------------------

/** A key no test text holds by chance: `sk-admin-` then 40 random letters and digits. */
const randomKey = (prefix = 'sk-admin-'): string =>
  `${prefix}${randomBytes(30)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 40)}`;

/** Every run of 8 characters of a secret (line by line, armour left out): any longer fragment holds one. */
function fragments(secret: string): string[] {
  const found = new Set<string>();
  for (const line of bodyLines(secret).concat(secret.includes('\n') ? [] : [secret.trim()]))
    for (let i = 0; i + 8 <= line.length; i++) found.add(line.slice(i, i + 8));
  return [...found];
}

interface Seen {
  run: ActionRun;
  /** The bodies of the pull-request comments the fake GitHub API received. */
  comments: string[];
}

/** Everything a person or a later step can read: stdout and stderr (but the ::add-mask:: lines), outputs, summary, comments. */
function readable({ run, comments }: Seen): string {
  return [run.stdout, run.stderr, run.outputsFile, run.summary, ...comments]
    .join('\n')
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** Fragments of each secret found anywhere readable: none may be. */
function fragmentLeaks(seen: Seen, secrets: string[]): string[] {
  const text = readable(seen);
  return secrets.flatMap((secret) => fragments(secret).filter((f) => text.includes(f)));
}

/** Runs the main action on a pull_request event with comment-on-pr, a fake GitHub API recording the comment. */
async function runCommenting(track: Track, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<Seen> {
  const github = track(await startFakeGitHub(FAKE_GITHUB_TOKEN));
  const eventPath = path.join(tempDir(), 'event.json');
  fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 }, repository: { name: 'repo', owner: { login: 'example' } } }));
  const run = await runAction(
    { 'comment-on-pr': 'true', ...inputs },
    { env: { ...DEBUG_ENV, GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_API_URL: github.url, ...env } },
  );
  return { run, comments: github.comments.map((c) => c.body) };
}

/** A loopback HTTP server answering every request with `answer`, noting how many it saw. */
async function serveHttp(
  track: Track,
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: () => number }> {
  let seen = 0;
  const server = createHttpServer((req, res) => {
    seen++;
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen: () => seen };
}

describe.concurrent('issue 22: no fragment of a secret anywhere, whatever outside text says', () => {
  it('an API error that echoes the key, short and cut at 300 characters inside the key: not in the log, summary, outputs or comment', async ({
    emulator,
    track,
    expect,
  }) => {
    /** 288 characters, then `key=`: the key starts at 292, and the 300-character cut falls 8 characters into it. */
    const longWith = (key: string): string => `${'The gateway refused the request. '.repeat(9).slice(0, 288)}key=${key} (end)`;
    const sk = randomKey();
    // A key with no shape of a key: only its registration (maskText) can take it out, and only before the cut.
    const shapeless = `AdminKey${randomKey('')}`;
    for (const { key, message, cut } of [
      {
        key: sk,
        message: `Incorrect API key provided: ${sk}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        cut: false,
      },
      { key: sk, message: longWith(sk), cut: true },
      { key: shapeless, message: longWith(shapeless), cut: true },
    ]) {
      expect(message.slice(0, 300).endsWith(key.slice(0, 8)), 'the cut falls inside the key').toBe(cut);
      const emu = await emulator({ adminKey: key });
      emu.addFault({ kind: 'status', status: 401, code: 'invalid_api_key', message, method: 'GET', times: Infinity });
      const ca = makeCa();
      const seen = await runCommenting(track, { 'admin-api-key': key, certificate: ca.pem, 'base-url': emu.baseURL, 'max-retries': '0' });
      expect(seen.run.code).toBe(1);
      expect(seen.comments, 'the comment is posted on failure too').toHaveLength(1);
      expect(seen.run.annotations.find((a) => a.level === 'error')?.message).toMatch(/the admin key was rejected \(401\).*\*\*\*/);
      expect(fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN])).toEqual([]);
      expect(seen.run.masked).toContain(key);
      expectNothingLeaked(expect, seen.run, [key, FAKE_GITHUB_TOKEN], ca);
    }
  });

  it('a gateway error page (HTML, and JSON) that echoes the Authorization header', async ({ track, expect }) => {
    const key = randomKey();
    for (const kind of ['html', 'json'] as const) {
      const gateway = await serveHttp(track, (req, res) => {
        const echoed = `Authorization: ${String(req.headers.authorization)}`;
        if (kind === 'html') {
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end(`<html><body><h1>502 Bad Gateway</h1><pre>${echoed}</pre></body></html>`);
        } else {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ error: { message: `Blocked by policy. Request headers: ${echoed}`, type: 'proxy_error', code: 'blocked' } }),
          );
        }
      });
      const seen = await runCommenting(track, {
        'admin-api-key': key,
        certificate: makeCa().pem,
        'base-url': `${gateway.url}/v1`,
        'max-retries': '0',
      });
      expect(seen.run.code, kind).toBe(1);
      expect(gateway.seen(), kind).toBeGreaterThan(0);
      expect(fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN]), kind).toEqual([]);
    }
  });

  it('a proxy that refuses the tunnel with an error page echoing its credentials: neither the key nor the proxy password shows', async ({
    track,
    expect,
  }) => {
    const key = randomKey();
    const proxyPassword = `Pr0xy${randomBytes(12).toString('hex')}`;
    let connects = 0;
    const sockets = new Set<Socket>();
    const proxy = createTcpServer((socket) => {
      sockets.add(socket);
      socket.once('data', (head) => {
        connects++;
        const page = `<html><body>407 Proxy Authentication Required for ${head.toString().replace(/\r\n/g, ' ')}</body></html>`;
        socket.end(
          `HTTP/1.1 407 Proxy Authentication Required\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(page)}\r\n\r\n${page}`,
        );
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          proxy.close(() => resolve());
        }),
    });
    const proxyUrl = `http://user:${proxyPassword}@127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const seen = await runCommenting(
      track,
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': 'https://api.test/v1', 'max-retries': '0' },
      { HTTPS_PROXY: proxyUrl },
    );
    expect(seen.run.code).toBe(1);
    expect(connects).toBeGreaterThan(0);
    expect(fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN, proxyPassword])).toEqual([]);
  });

  it('a loopback base-url with HTTP_PROXY and HTTPS_PROXY set: direct, the proxy receives nothing', async ({ emulator, track, expect }) => {
    const key = randomKey();
    const emu = await emulator({ adminKey: key });
    const proxy = track(await startProxy());
    const seen = await runCommenting(
      track,
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL },
      { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
    );
    expect(seen.run.code).toBe(0);
    expect(emu.requests).toHaveLength(3);
    expect(proxy.seen).toEqual([]);
    expect(fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN])).toEqual([]);
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0: both actions refuse before any request, naming it and NODE_EXTRA_CA_CERTS', async ({
    emulator,
    track,
    expect,
  }) => {
    const key = randomKey();
    const serverCa = makeCa({ cn: 'Untrusted server CA' });
    const server = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
    const emu = await emulator({ adminKey: key, tls: { key: server.keyPem, cert: server.pem } });
    const env = { NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    const seen = await runCommenting(track, { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL }, env);
    const status: Seen = {
      run: await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL }, { env: { ...DEBUG_ENV, ...env } }),
      comments: [],
    };
    for (const { run } of [seen, status]) {
      expect(run.code).toBe(1);
      const errors = run.annotations.filter((a) => a.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.title).toBe('NODE_TLS_REJECT_UNAUTHORIZED');
      expect(errors[0]!.message).toMatch(/NODE_EXTRA_CA_CERTS/);
    }
    expect(emu.requests).toHaveLength(0);
    expect(fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN])).toEqual([]);
    expect(fragmentLeaks(status, [key])).toEqual([]);
  });

  it('a base-url or mtls-base-url with credentials, a query string or a fragment: refused, nothing sent, never printed', async ({
    emulator,
    track,
    expect,
  }) => {
    const key = randomKey();
    const emu = await emulator({ adminKey: key });
    const hidden = `S3cret${randomBytes(10).toString('hex')}`;
    const host = new URL(emu.baseURL).host;
    for (const [input, url] of [
      ['base-url', `http://user:${hidden}@${host}/v1`],
      ['base-url', `http://${host}/v1?api_key=${hidden}`],
      ['base-url', `http://${host}/v1#${hidden}`],
      ['mtls-base-url', `https://${hidden}@mtls.example.test/v1`],
    ] as const) {
      const seen = await runCommenting(track, { 'admin-api-key': key, certificate: makeCa().pem, [input]: url, 'dry-run': 'true' });
      expect(seen.run.code, url).toBe(1);
      expect(seen.run.annotations.find((a) => a.level === 'error')?.title, url).toBe(`input ${input}`);
      expect(fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN, hidden]), url).toEqual([]);
    }
    expect(emu.requests).toHaveLength(0);
  });

  it('a certificate name with workflow commands, Markdown, HTML and an @mention stays text in the log, summary, outputs and comment', async ({
    emulator,
    track,
    expect,
  }) => {
    const key = randomKey();
    const hostile =
      'corp-ca\n::error title=Forged::forged annotation\n::stop-commands::x\n| x | <img src=https://evil.example/i.png> [click](https://evil.example) @octocat ::warning::y';
    const emu = await emulator({ adminKey: key });
    const old = makeCa({ cn: 'Hostile' });
    const stored = emu.addCertificate(old.pem, { name: hostile, activeOrg: true });
    const main = await runCommenting(track, {
      'admin-api-key': key,
      'certificate-id': stored.id,
      'base-url': emu.baseURL,
      'dry-run': 'true',
    });
    const status: Seen = {
      run: await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL }, { env: DEBUG_ENV }),
      comments: [],
    };
    expect(main.comments).toHaveLength(1);
    // Every problem of both actions is listed before the test fails, so that one run shows them all.
    const problems: string[] = [];
    for (const [name, seen] of [
      ['main', main],
      ['status', status],
    ] as const) {
      const lines = [seen.run.stdout, seen.run.stderr].join('\n').split('\n');
      // No line of the output is a command that came from the name.
      for (const line of lines.filter((l) => /^\s*::(stop-commands|error title=Forged|warning::y)/.test(l)))
        problems.push(`${name}: the log has a forged command line: ${line}`);
      if (seen.run.annotations.some((a) => a.title === 'Forged')) problems.push(`${name}: a forged annotation`);
      for (const [where, markdown] of [['summary', seen.run.summary] as const, ...seen.comments.map((c) => ['comment', c] as const)]) {
        // No tag, no unescaped `](`, no mention, no part of the name on a line of its own (a table row, a command).
        const found = /<img|(?<!\\)\]\(|@octocat|\n::|\n\| x \|/.exec(markdown);
        if (found) problems.push(`${name}: the ${where} holds ${JSON.stringify(found[0])}`);
      }
      for (const [output, value] of Object.entries(seen.run.outputs))
        if (/[\r\n]/.test(value)) problems.push(`${name}: output ${output} has a line break`);
      for (const leak of fragmentLeaks(seen, [key, FAKE_GITHUB_TOKEN])) problems.push(`${name}: a secret fragment ${leak}`);
    }
    expect(problems).toEqual([]);
  });
});
