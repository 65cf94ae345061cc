import { X509Certificate } from 'node:crypto';
import { APIError } from 'openai';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CertificateApi } from '../../src/api/certificates.ts';
import { ApiError, fromSdkError } from '../../src/api/errors.ts';
import { ORGANIZATION, type CertificateReader, type ListedCertificate } from '../../src/api/reader.ts';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.ts';
import { ActionError } from '../../src/errors.ts';
import { localRecord } from '../../src/rotation/decide.ts';
import { compare, findCopies, mayBeIdentical } from '../../src/rotation/identical.ts';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { sdkApi } from '../helpers/sdk.ts';

let ca: MadeCertificate;
let other: MadeCertificate;
let others: MadeCertificate[];
let sameDatesA: MadeCertificate;
let sameDatesB: MadeCertificate;
let from: Date;
let to: Date;
let info: CertificateInfo;
beforeAll(async () => {
  ca = makeCa({ cn: 'Identical CA' });
  other = makeCa({ cn: 'Other' });
  others = [makeCa({ days: 100 }), makeCa({ days: 200 })];
  from = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
  to = new Date(from.getTime() + 400 * 86_400_000);
  sameDatesA = await makeDatedCa(from, to, 'A');
  sameDatesB = await makeDatedCa(from, to, 'B');
  info = inspectCertificate(ca.der);
});

let emu: Emulator;
let api: CertificateApi;
beforeEach(async () => {
  emu = await startEmulator();
  api = sdkApi(emu.baseURL);
});
afterEach(async () => {
  await emu.close();
});

const reads = (): string[] =>
  emu.requests.filter((r) => r.method === 'GET' && r.path !== '/v1/organization/certificates').map((r) => r.path.split('/').pop()!);

describe('findCopies', () => {
  it('finds the certificate with the same fingerprint, reading only those whose validity matches', async () => {
    const stored = others.map((o) => emu.addCertificate(o.pem));
    const same = emu.addCertificate(ca.pem, { name: 'corp' });
    const found = await findCopies(api, info, await api.listScope(ORGANIZATION));
    expect(found.map((c) => [c.id, c.name])).toEqual([[same.id, 'corp']]);
    expect(reads()).toEqual([same.id]);
    expect(reads()).not.toContain(stored[0]!.id);
  });

  it('finds every copy, not only the first', async () => {
    const first = emu.addCertificate(ca.pem, { name: 'one' });
    const second = emu.addCertificate(ca.pem, { name: 'two' });
    const found = await findCopies(api, info, await api.listScope(ORGANIZATION));
    expect(found.map((c) => c.id).sort()).toEqual([first.id, second.id].sort());
  });

  it('tells apart two certificates with the same validity by fingerprint', async () => {
    const stored = emu.addCertificate(sameDatesB.pem);
    const listed = await api.listScope(ORGANIZATION);
    expect(listed[0]).toMatchObject({ validAt: from.getTime() / 1000, expiresAt: to.getTime() / 1000 });
    expect(await findCopies(api, inspectCertificate(sameDatesA.der), listed)).toEqual([]);
    expect(reads()).toEqual([stored.id]);
  });

  it('finds nothing in an empty organization', async () => {
    expect(await findCopies(api, info, [])).toEqual([]);
    expect(emu.requests).toEqual([]);
  });

  it('also checks certificates whose list entry gives no validity', async () => {
    const stored = emu.addCertificate(ca.pem);
    const listed: ListedCertificate[] = (await api.listScope(ORGANIZATION)).map((c) => ({ ...c, validAt: null, expiresAt: null }));
    expect((await findCopies(api, info, listed)).map((c) => c.id)).toEqual([stored.id]);
  });

  it('skips a candidate deleted since it was listed', async () => {
    emu.addCertificate(ca.pem);
    emu.addCertificate(ca.pem);
    const listed = await api.listScope(ORGANIZATION);
    emu.certificates.splice(
      emu.certificates.findIndex((c) => c.id === listed[0]!.id),
      1,
    );
    const found = await findCopies(api, info, listed);
    expect(found.map((c) => c.id)).toEqual([listed[1]!.id]);
  });

  it('other failures are not swallowed', async () => {
    emu.addCertificate(ca.pem);
    const listed = await api.listScope(ORGANIZATION);
    emu.addFault({ kind: 'status', status: 403, method: 'GET' });
    await expect(findCopies(api, info, listed)).rejects.toThrow(/not allowed to \(403\)/);
  });
});

describe('mayBeIdentical', () => {
  const listed = (overrides: Partial<ListedCertificate>): ListedCertificate => ({
    id: 'cert_a',
    name: null,
    createdAt: 1,
    ...localRecord(info),
    active: false,
    ...overrides,
  });
  it('the same dates, or dates the list does not give; never other dates', () => {
    const own = localRecord(info);
    expect(mayBeIdentical(listed({}), info)).toBe(true);
    expect(mayBeIdentical(listed({ validAt: null }), info)).toBe(true);
    expect(mayBeIdentical(listed({ validAt: null, expiresAt: null }), info)).toBe(true);
    expect(mayBeIdentical(listed({ validAt: own.validAt! + 1 }), info)).toBe(false);
    expect(mayBeIdentical(listed({ expiresAt: own.expiresAt! - 1 }), info)).toBe(false);
  });
});

describe('compare', () => {
  const listed = (id: string): ListedCertificate => ({
    id,
    name: null,
    createdAt: 0,
    validAt: null,
    expiresAt: null,
    active: false,
  });
  /** A reader whose retrieve answers with this content, or fails with this error. */
  const reader = (answer: { content?: string; error?: unknown }): CertificateReader =>
    ({
      retrieve: async (id: string) => {
        if (answer.error) throw answer.error;
        return { id, name: null, createdAt: 0, validAt: null, expiresAt: null, content: answer.content };
      },
    }) as unknown as CertificateReader;
  const sdk404 = (): APIError =>
    APIError.generate(404, { error: { message: 'No certificate.', type: 't', param: null, code: null } }, undefined, new Headers());
  const readContext = { action: 'read certificate cert_a', host: 'h', certificateId: 'cert_a' };

  it('identical, different, or gone (404 for the certificate since it was listed)', async () => {
    expect(await compare(reader({ content: ca.pem }), listed('cert_a'), info)).toMatchObject({ id: 'cert_a', content: ca.pem });
    expect(await compare(reader({ content: other.pem }), listed('cert_a'), info)).toBe('different');
    const notFound = fromSdkError(sdk404(), readContext);
    expect(notFound.facts.missing).toBe('certificate');
    expect(await compare(reader({ error: notFound }), listed('cert_a'), info)).toBe('gone');
  });

  it('any other failure is thrown as it is', async () => {
    const bug = new Error('boom');
    await expect(compare(reader({ error: bug }), listed('cert_a'), info)).rejects.toBe(bug);
    const denied = fromSdkError(
      APIError.generate(403, { error: { message: 'No.', type: 't', param: null, code: null } }, undefined, new Headers()),
      readContext,
    );
    await expect(compare(reader({ error: denied }), listed('cert_a'), info)).rejects.toBe(denied);
    // A 404 that does not say the certificate is missing (a wrong base-url) is not "gone".
    const unknown = fromSdkError(sdk404(), { action: 'read certificate cert_a', host: 'h' });
    expect(unknown.facts.missing).toBeUndefined();
    await expect(compare(reader({ error: unknown }), listed('cert_a'), info)).rejects.toBe(unknown);
    // Only the API's own 404, as api/ turns it into an ApiError, means gone: another error that merely carries one is thrown.
    const carrier = new Error('something else', { cause: sdk404() });
    await expect(compare(reader({ error: carrier }), listed('cert_a'), info)).rejects.toBe(carrier);
  });

  it('finds the certificate in a content that has another block first, or on one line as OpenAI shows it', async () => {
    const publicKey = new X509Certificate(ca.pem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(await compare(reader({ content: `${publicKey}${ca.pem}` }), listed('cert_a'), info)).toMatchObject({ id: 'cert_a' });
    const oneLine = ca.pem.replace(/\r?\n/g, '');
    expect(await compare(reader({ content: oneLine }), listed('cert_a'), info)).toMatchObject({ id: 'cert_a' });
  });

  it('a content with no certificate, or one that does not parse, is an error titled api, never a "different"', async () => {
    const cases: Array<[string | undefined, RegExp]> = [
      ['', /the API returned no content for it\./],
      [undefined, /the API returned no content for it\./],
      ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /the API returned a content that holds no certificate\./],
      ['-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n', /the API returned a content that does not parse as X\.509\./],
    ];
    for (const [content, why] of cases) {
      const error = (await compare(reader(content === undefined ? {} : { content }), listed('cert_a'), info).catch(
        (e: unknown) => e,
      )) as ActionError;
      expect(error).toBeInstanceOf(ActionError);
      expect(error).not.toBeInstanceOf(ApiError);
      expect(error.title).toBe('api');
      expect(error.message).toMatch(why);
      expect(error.hint).toContain(info.fingerprint);
    }
  });
});
