import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe } from 'vitest';
import { startEmulator } from '../emulator/emulator.ts';
import { FAKE_GITHUB_TOKEN, runAction } from '../helpers/action.ts';
import { API_ALIAS as API_HOST, makeAliasServer, viaAlias } from '../helpers/alias.ts';
import { makeCa, tempDir, type MadeCertificate } from '../helpers/certs.ts';
import { closedPort } from '../helpers/net.ts';
import { serverTest as it, type Closable } from '../helpers/servers.ts';
import { startProxy } from '../helpers/proxy.ts';
import { startFakeGitHub } from '../helpers/fake-github.ts';

const key = 'sk-admin-emulator-test-key';

/** The private CA of a TLS-inspecting proxy, and a server certificate for API_HOST and 127.0.0.1: made once. */
const serverCerts = (() => {
  let made: { serverCa: MadeCertificate; server: { keyPem: string; pem: string } } | undefined;
  return () => {
    if (made) return made;
    const serverCa = makeCa({ cn: 'Private TLS inspection CA' });
    made = { serverCa, server: makeAliasServer(serverCa) };
    return made;
  };
})();

async function httpsEmulator(track: <T extends Closable>(server: T) => T) {
  const { serverCa, server } = serverCerts();
  const emu = await startEmulator({ tls: { key: server.keyPem, cert: server.pem } });
  track(emu);
  return { emu, serverCa, viaProxy: viaAlias(emu.baseURL) };
}

describe.concurrent('compiled action: proxies and private CAs', () => {
  for (const variable of ['HTTPS_PROXY', 'https_proxy']) {
    it(`sends every API call through the proxy named by ${variable} (CONNECT tunnel over HTTPS)`, async ({ track, expect }) => {
      const { emu, serverCa, viaProxy } = await httpsEmulator(track);
      const proxy = await startProxy([API_HOST]);
      track(proxy);
      const run = await runAction(
        { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': viaProxy, 'activate-projects': 'proj_alpha' },
        { env: { [variable]: proxy.url, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
      );
      expect(run.code).toBe(0);
      // The two lists, the upload, the list that converges, the activation, then the organization read for
      // copies and the project read back.
      // (One more list when the upload was answered within the second its copy was stored: the run waits for
      // that second to pass and lists again, see upload.ts.)
      expect(emu.requests.length).toBeGreaterThanOrEqual(7);
      expect(emu.requests.length).toBeLessThanOrEqual(8);
      const port = new URL(emu.baseURL).port;
      expect(proxy.seen.length).toBeGreaterThan(0);
      expect(proxy.seen.every((line) => line === `CONNECT ${API_HOST}:${port}`)).toBe(true);
      expect(run.stdout.match(/^Proxy: /gm)).toHaveLength(1);
      expect(run.stdout).toContain(`Proxy: ${proxy.url}`);
    });
  }

  it('says which proxy without its credentials', async ({ track, expect }) => {
    const { emu, serverCa, viaProxy } = await httpsEmulator(track);
    const proxy = await startProxy([API_HOST]);
    track(proxy);
    const withCredentials = proxy.url.replace('http://', 'http://user:s3cretPassw0rd@');
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': viaProxy },
      { env: { HTTPS_PROXY: withCredentials, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.code).toBe(0);
    expect(emu.requests).toHaveLength(3);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(run.stdout).toContain(`Proxy: ${proxy.url}`);
    expect(run.everything).not.toContain('s3cretPassw0rd');
  });

  it('reaches a loopback base-url directly, plain http or https, whatever the proxy variables say: the proxy receives nothing', async ({
    track,
    expect,
  }) => {
    const plain = await startEmulator();
    track(plain);
    const { emu: tls, serverCa } = await httpsEmulator(track);
    const proxy = await startProxy([API_HOST]);
    track(proxy);
    for (const [emu, env] of [
      [plain, { HTTP_PROXY: proxy.url }],
      [plain, { http_proxy: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: 'example.test' }],
      [plain, { HTTP_PROXY: proxy.url, NODE_USE_ENV_PROXY: '1' }],
      [tls, { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: serverCa.certPath }],
    ] as const) {
      const before = emu.requests.length;
      const run = await runAction({ 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL }, { env });
      expect(run.code, run.stdout).toBe(0);
      // The list, the upload and the list that converges; one more read when a CA of an earlier round has
      // the same validity dates (made in the same second) and its content is compared.
      const requests = emu.requests.slice(before);
      expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      expect(requests.length).toBeLessThanOrEqual(4);
      expect(proxy.seen).toEqual([]);
      expect(run.stdout).not.toMatch(/^Proxy: /m);
    }
  });

  for (const noProxy of [API_HOST, '*', `.example.test,${API_HOST}`]) {
    it(`reaches hosts in NO_PROXY=${noProxy} directly (the proxy receives nothing)`, async ({ track, expect }) => {
      const { emu, serverCa, viaProxy } = await httpsEmulator(track);
      const proxy = await startProxy([API_HOST]);
      track(proxy);
      // Only the proxy knows API_HOST: reached directly, the name does not resolve.
      const run = await runAction(
        { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': viaProxy, 'max-retries': '0' },
        { env: { HTTPS_PROXY: proxy.url, NO_PROXY: noProxy, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
      );
      expect(run.code).toBe(1);
      expect(run.annotations[0]!.message).toMatch(new RegExp(`could not connect to ${API_HOST}:\\d+.* \\((ENOTFOUND|EAI_AGAIN)\\)`));
      expect(proxy.seen).toEqual([]);
      expect(emu.requests).toHaveLength(0);
    });
  }

  it('sends the pull-request comment through the proxy too (GITHUB_API_URL on a host that is not loopback)', async ({ track, expect }) => {
    const { emu, serverCa } = await httpsEmulator(track);
    const github = await startFakeGitHub(FAKE_GITHUB_TOKEN);
    const proxy = await startProxy(['github.test']);
    track(github);
    track(proxy);
    const eventPath = path.join(tempDir(), 'event.json');
    fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 } }));
    const githubPort = new URL(github.url).port;
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL, 'dry-run': 'true', 'comment-on-pr': 'true' },
      {
        env: {
          HTTPS_PROXY: proxy.url,
          HTTP_PROXY: proxy.url,
          NO_PROXY: '127.0.0.1',
          NODE_EXTRA_CA_CERTS: serverCa.certPath,
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: eventPath,
          GITHUB_API_URL: `http://github.test:${githubPort}`,
        },
      },
    );
    expect(run.code).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen.every((line) => line.includes(`github.test:${githubPort}`))).toBe(true);
  });

  it('names the proxy when it refuses the connection', async ({ track, expect }) => {
    const { emu, serverCa, viaProxy } = await httpsEmulator(track);
    const proxyUrl = `http://127.0.0.1:${await closedPort()}`;
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': viaProxy, 'max-retries': '0' },
      { env: { HTTPS_PROXY: proxyUrl, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.code).toBe(1);
    expect(run.annotations[0]!.message).toContain(`through the proxy ${proxyUrl}`);
    expect(emu.requests).toHaveLength(0);
  });

  it('fails on a server certificate from an unknown CA, and passes once NODE_EXTRA_CA_CERTS names that CA', async ({ track, expect }) => {
    const { emu, serverCa } = await httpsEmulator(track);
    const inputs = { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL, 'max-retries': '0' };
    const refused = await runAction(inputs);
    expect(refused.code).toBe(1);
    expect(refused.annotations[0]!.message).toMatch(
      /could not connect to 127\.0\.0\.1:\d+ \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
    );
    expect(emu.certificates).toHaveLength(0);
    const trusted = await runAction(inputs, { env: { NODE_EXTRA_CA_CERTS: serverCa.certPath } });
    expect(trusted.code).toBe(0);
    expect(emu.certificates).toHaveLength(1);
  });
});
