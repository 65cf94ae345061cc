import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../emulator/emulator.ts';
import { FAKE_GITHUB_TOKEN, runAction } from '../helpers/action.ts';
import { makeCa, makeLeaf, tempDir } from '../helpers/certs.ts';
import { closedPort } from '../helpers/net.ts';
import { closeAfterEach } from '../helpers/servers.ts';
import { startProxy } from '../helpers/proxy.ts';
import { startFakeGitHub } from '../helpers/fake-github.ts';

const key = 'sk-admin-emulator-test-key';
const track = closeAfterEach();

async function httpsEmulator() {
  const serverCa = makeCa({ cn: 'Private TLS inspection CA' });
  const server = makeLeaf(serverCa, '127.0.0.1', 30, 'server');
  const emu = await startEmulator({ tls: { key: server.keyPem, cert: server.pem } });
  track(emu);
  return { emu, serverCa };
}

describe('compiled action: proxies and private CAs', () => {
  for (const variable of ['HTTPS_PROXY', 'https_proxy']) {
    it(`sends every API call through the proxy named by ${variable} (CONNECT tunnel over HTTPS)`, async () => {
      const { emu, serverCa } = await httpsEmulator();
      const proxy = await startProxy();
      track(proxy);
      const run = await runAction(
        { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL, 'activate-projects': 'proj_alpha' },
        { env: { [variable]: proxy.url, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
      );
      expect(run.code).toBe(0);
      // The two lists, the upload, the list that converges, the activation, then the organization read for
      // copies and the project read back.
      expect(emu.requests.length).toBe(7);
      const port = new URL(emu.baseURL).port;
      expect(proxy.seen.length).toBeGreaterThan(0);
      expect(proxy.seen.every((line) => line === `CONNECT 127.0.0.1:${port}`)).toBe(true);
      expect(run.stdout.match(/^Proxy: /gm)).toHaveLength(1);
      expect(run.stdout).toContain(`Proxy: ${proxy.url}`);
    });
  }

  it('sends plain-HTTP calls through HTTP_PROXY, and says which proxy without its credentials', async () => {
    const emu = await startEmulator();
    track(emu);
    const proxy = await startProxy();
    track(proxy);
    const withCredentials = proxy.url.replace('http://', 'http://user:s3cretPassw0rd@');
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL },
      { env: { HTTP_PROXY: withCredentials } },
    );
    expect(run.code).toBe(0);
    expect(emu.requests).toHaveLength(3);
    const host = new URL(emu.baseURL).host;
    expect(proxy.seen.length).toBeGreaterThan(0);
    for (const line of proxy.seen)
      expect([
        `CONNECT ${host}`,
        `GET http://${host}/v1/organization/certificates?limit=100`,
        `POST http://${host}/v1/organization/certificates`,
      ]).toContain(line);
    expect(run.stdout).toContain(`Proxy: ${proxy.url}`);
    expect(run.everything).not.toContain('s3cretPassw0rd');
  });

  for (const noProxy of ['127.0.0.1', '*', '.example.test,127.0.0.1']) {
    it(`reaches hosts in NO_PROXY=${noProxy} directly`, async () => {
      const { emu, serverCa } = await httpsEmulator();
      const proxy = await startProxy();
      track(proxy);
      const run = await runAction(
        { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL },
        { env: { HTTPS_PROXY: proxy.url, NO_PROXY: noProxy, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
      );
      expect(run.code).toBe(0);
      expect(emu.requests).toHaveLength(3);
      expect(proxy.seen).toEqual([]);
    });
  }

  it('sends the pull-request comment through the proxy too (GITHUB_API_URL on a host that is not loopback)', async () => {
    const { emu, serverCa } = await httpsEmulator();
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

  it('names the proxy when it refuses the connection', async () => {
    const { emu, serverCa } = await httpsEmulator();
    const proxyUrl = `http://127.0.0.1:${await closedPort()}`;
    const run = await runAction(
      { 'admin-api-key': key, certificate: makeCa().pem, 'base-url': emu.baseURL, 'max-retries': '0' },
      { env: { HTTPS_PROXY: proxyUrl, NODE_EXTRA_CA_CERTS: serverCa.certPath } },
    );
    expect(run.code).toBe(1);
    expect(run.annotations[0]!.message).toContain(`through the proxy ${proxyUrl}`);
    expect(emu.requests).toHaveLength(0);
  });

  it('fails on a server certificate from an unknown CA, and passes once NODE_EXTRA_CA_CERTS names that CA', async () => {
    const { emu, serverCa } = await httpsEmulator();
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
