import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.ts';
import { ORGANIZATION, type ListedCertificate } from '../../src/api/reader.ts';
import { findIdentical } from '../../src/rotation/identical.ts';
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
