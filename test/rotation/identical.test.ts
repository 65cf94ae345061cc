import { X509Certificate } from 'node:crypto';
import OpenAI, { APIError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.ts';
import { ORGANIZATION, type CertificateReader, type ListedCertificate } from '../../src/api/reader.ts';
import { ActionError } from '../../src/errors.ts';
import { compare, findIdentical } from '../../src/rotation/identical.ts';
import { inspectCertificate } from '../../src/certificate/inspect.ts';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa } from '../helpers/certs.ts';

let emu: Emulator;
let api: CertificateApi;
beforeEach(async () => {
  emu = await startEmulator();
  const client = new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL: emu.baseURL, maxRetries: 0, logLevel: 'off' });
  api = new CertificateApi(client, emu.baseURL);
});
afterEach(async () => {
  await emu.close();
});

const reads = (): string[] =>
  emu.requests.filter((r) => r.method === 'GET' && r.path !== '/v1/organization/certificates').map((r) => r.path.split('/').pop()!);

describe('findIdentical', () => {
  it('finds the certificate with the same fingerprint, reading only those whose validity matches', async () => {
    const ca = makeCa();
    const others = [makeCa({ days: 100 }), makeCa({ days: 200 })].map((o) => emu.addCertificate(o.pem));
    const same = emu.addCertificate(ca.pem, { name: 'corp' });
    const found = await findIdentical(api, inspectCertificate(ca.der), await api.listScope(ORGANIZATION));
    expect(found?.id).toBe(same.id);
    expect(found?.name).toBe('corp');
    expect(reads()).toEqual([same.id]);
    expect(reads()).not.toContain(others[0]!.id);
  });

  it('tells apart two certificates with the same validity by fingerprint', async () => {
    const from = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
    const to = new Date(from.getTime() + 400 * 86_400_000);
    const a = await makeDatedCa(from, to, 'A');
    const b = await makeDatedCa(from, to, 'B');
    const stored = emu.addCertificate(b.pem);
    const listed = await api.listScope(ORGANIZATION);
    expect(listed[0]).toMatchObject({ validAt: from.getTime() / 1000, expiresAt: to.getTime() / 1000 });
    expect(await findIdentical(api, inspectCertificate(a.der), listed)).toBeUndefined();
    expect(reads()).toEqual([stored.id]);
  });

  it('finds nothing in an empty organization', async () => {
    expect(await findIdentical(api, inspectCertificate(makeCa().der), [])).toBeUndefined();
  });

  it('also checks certificates whose list entry gives no validity', async () => {
    const ca = makeCa();
    const stored = emu.addCertificate(ca.pem);
    const listed: ListedCertificate[] = (await api.listScope(ORGANIZATION)).map((c) => ({
      ...c,
      validAt: undefined,
      expiresAt: undefined,
    }));
    expect((await findIdentical(api, inspectCertificate(ca.der), listed))?.id).toBe(stored.id);
  });

  it('skips a candidate deleted since it was listed', async () => {
    const ca = makeCa();
    const first = emu.addCertificate(ca.pem);
    const second = emu.addCertificate(ca.pem);
    const listed = await api.listScope(ORGANIZATION);
    emu.certificates.splice(emu.certificates.indexOf(emu.certificates.find((c) => c.id === listed[0]!.id)!), 1);
    const found = await findIdentical(api, inspectCertificate(ca.der), listed);
    expect([first.id, second.id]).toContain(found?.id);
    expect(found?.id).toBe(listed[1]!.id);
  });

  it('other failures are not swallowed', async () => {
    const ca = makeCa();
    emu.addCertificate(ca.pem);
    const listed = await api.listScope(ORGANIZATION);
    emu.addFault({ kind: 'status', status: 403, method: 'GET' });
    await expect(findIdentical(api, inspectCertificate(ca.der), listed)).rejects.toThrow(/not allowed to \(403\)/);
  });
});

describe('compare', () => {
  const listed = (id: string): ListedCertificate => ({
    id,
    name: null,
    createdAt: 0,
    validAt: undefined,
    expiresAt: undefined,
    active: false,
  });
  /** A reader whose retrieve answers with this content, or fails with this error. */
  const reader = (answer: { content?: string; error?: unknown }): CertificateReader =>
    ({
      retrieve: async (id: string) => {
        if (answer.error) throw answer.error;
        return { id, name: null, createdAt: 0, validAt: undefined, expiresAt: undefined, content: answer.content };
      },
    }) as unknown as CertificateReader;

  it('identical, different, or gone (404 since it was listed)', async () => {
    const ca = makeCa();
    const info = inspectCertificate(ca.der);
    expect(await compare(reader({ content: ca.pem }), listed('cert_a'), info)).toMatchObject({ id: 'cert_a', content: ca.pem });
    expect(await compare(reader({ content: makeCa({ cn: 'Other' }).pem }), listed('cert_a'), info)).toBe('different');
    const notFound = new ActionError('Could not read certificate cert_a.', {
      cause: APIError.generate(
        404,
        { error: { message: 'No certificate.', type: 't', param: null, code: null } },
        undefined,
        new Headers(),
      ),
    });
    expect(await compare(reader({ error: notFound }), listed('cert_a'), info)).toBe('gone');
  });

  it('any other failure is thrown as it is', async () => {
    const info = inspectCertificate(makeCa().der);
    const bug = new Error('boom');
    await expect(compare(reader({ error: bug }), listed('cert_a'), info)).rejects.toBe(bug);
    const denied = new ActionError('Could not read certificate cert_a.', {
      cause: APIError.generate(403, { error: { message: 'No.', type: 't', param: null, code: null } }, undefined, new Headers()),
    });
    await expect(compare(reader({ error: denied }), listed('cert_a'), info)).rejects.toBe(denied);
    // Only the API's own 404, as api/ wraps it, means gone: another error that merely carries one is thrown.
    const notFound = APIError.generate(
      404,
      { error: { message: 'No certificate.', type: 't', param: null, code: null } },
      undefined,
      new Headers(),
    );
    const carrier = new Error('something else', { cause: notFound });
    await expect(compare(reader({ error: carrier }), listed('cert_a'), info)).rejects.toBe(carrier);
  });

  it('finds the certificate in a content that has another block first', async () => {
    const ca = makeCa();
    const publicKey = new X509Certificate(ca.pem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(await compare(reader({ content: `${publicKey}${ca.pem}` }), listed('cert_a'), inspectCertificate(ca.der))).toMatchObject({
      id: 'cert_a',
    });
  });

  it('a content with no certificate, or one that does not parse, is an error titled api, never a "different"', async () => {
    const info = inspectCertificate(makeCa().der);
    const cases: Array<[string, RegExp]> = [
      ['', /the API returned no content for it\./],
      ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /the API returned a content that holds no certificate\./],
      ['-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n', /the API returned a content that does not parse as X\.509\./],
    ];
    for (const [content, why] of cases) {
      const error = (await compare(reader({ content }), listed('cert_a'), info).catch((e: unknown) => e)) as ActionError;
      expect(error).toBeInstanceOf(ActionError);
      expect(error.title).toBe('api');
      expect(error.message).toMatch(why);
    }
  });
});
