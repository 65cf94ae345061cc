/**
 * Over the compiled action: an API that answers a redirect. The action does not follow it (fetch's
 * `redirect: 'manual'`, src/api/client.ts): the run fails, saying where the redirect pointed, that the admin
 * key is never sent on, and to fix base-url; the address it pointed at receives nothing, not even a
 * connection; nothing is stored.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { leaks, runAction, STACK_TRACE_LINE } from '../helpers/action.ts';
import { makeCa } from '../helpers/certs.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const track = closeAfterEach();
const ca = makeCa({ cn: 'Redirected CA' });

/** Where the redirect points: a server that notes every connection and request, and answers none. */
async function target(): Promise<{ url: string; connections: number; requests: string[] }> {
  const seen = { url: '', connections: 0, requests: [] as string[] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req) => seen.requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`));
  server.on('connection', (s: Socket) => {
    seen.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
  seen.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return seen;
}

describe('a redirect from the API', () => {
  it('is refused, not followed, while reading (302) or uploading (307): the run says where it pointed and to fix base-url, and the target receives nothing', async () => {
    const cases = [
      { status: 302, method: 'GET', call: 'list the certificates of the organization' },
      { status: 307, method: 'POST', call: 'upload the certificate' },
    ];
    await Promise.all(
      cases.map(async ({ status, method, call }) => {
        const emu: Emulator = track(await startEmulator());
        const elsewhere = await target();
        // A query string with a secret-looking value: the message names the address without it.
        const location = `${elsewhere.url}/v1/organization/certificates?token=should-not-show`;
        emu.addFault({ kind: 'redirect', status, location, method, path: '/organization/certificates' });
        const run = await runAction({ 'admin-api-key': key, certificate: ca.pem, name: 'corp-ca', 'base-url': emu.baseURL });
        const why = `${status} ${method}\n${run.stdout}${run.stderr}`;
        expect(run.code, why).toBe(1);
        const errors = run.annotations.filter((a) => a.level === 'error').map((a) => a.message);
        const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        expect(errors, why).toHaveLength(1);
        expect(errors[0], why).toMatch(
          new RegExp(
            `^${escape(`Could not ${call}: the API answered ${status} and redirects to ${elsewhere.url}/v1/organization/certificates`)}` +
              ' \\(request id req_\\w+\\)\\. ' +
              escape(
                'The action does not follow redirects, so the admin key is never sent on to another address. ' +
                  'Set base-url (and mtls-base-url) to the address the API answers at directly, such as https://api.openai.com/v1.',
              ) +
              '$',
          ),
        );
        expect(run.everything, why).not.toContain('should-not-show');
        // The redirect target got nothing: no connection, so neither the admin key nor the certificate.
        expect(elsewhere.connections, why).toBe(0);
        expect(elsewhere.requests, why).toEqual([]);
        // The emulator answered the redirect once, and was not asked again for that call.
        expect(
          emu.requests.filter((q) => q.method === method && q.path === '/v1/organization/certificates'),
          why,
        ).toHaveLength(1);
        expect(emu.certificates, why).toEqual([]);
        expect(run.outputs['uploaded'], why).not.toBe('true');
        expect(leaks(run, [key]), why).toEqual([]);
        expect(run.everything, why).not.toMatch(STACK_TRACE_LINE);
      }),
    );
  });
});
