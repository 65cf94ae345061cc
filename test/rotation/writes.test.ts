import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateApi } from '../../src/api/certificates.ts';
import { ActionError } from '../../src/errors.ts';
import type { RetryOptions } from '../../src/rotation/retry.ts';
import { deactivate, deleteCertificate } from '../../src/rotation/writes.ts';
import { DEFAULT_ADMIN_KEY, startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa } from '../helpers/certs.ts';

let emu: Emulator;
let api: CertificateApi;
let lines: string[];
const retry = (maxRetries = 3): RetryOptions => ({
  maxRetries,
  sleep: async () => undefined,
  random: () => 0.5,
  log: (line) => void lines.push(line),
  now: Date.now,
});
const deletes = (): number => emu.requests.filter((r) => r.method === 'DELETE').length;

beforeEach(async () => {
  emu = await startEmulator();
  api = new CertificateApi(
    new OpenAI({ adminAPIKey: DEFAULT_ADMIN_KEY, apiKey: null, baseURL: emu.baseURL, maxRetries: 5, timeout: 300, logLevel: 'off' }),
    emu.baseURL,
  );
  lines = [];
});
afterEach(async () => {
  await emu.close();
});

describe('deleteCertificate', () => {
  it('deletes once when all goes well, without the SDK retrying on its own', async () => {
    const c = emu.addCertificate(makeCa().pem);
    expect(await deleteCertificate(api, c.id, retry())).toBe('deleted');
    expect(emu.certificates).toHaveLength(0);
    expect(deletes()).toBe(1);
  });

  it('a DELETE whose answer was lost, retried, gets 404: it was this run that deleted it, and the run goes on', async () => {
    const c = emu.addCertificate(makeCa().pem);
    emu.addFault({ kind: 'drop-after', method: 'DELETE' });
    expect(await deleteCertificate(api, c.id, retry())).toBe('deleted');
    expect(deletes()).toBe(2);
    expect(lines.at(-1)).toBe(`${c.id} is gone: the attempt whose answer was lost deleted it.`);
  });

  it('a certificate already gone before the first attempt is reported as gone, not as deleted by this run', async () => {
    expect(await deleteCertificate(api, 'cert_alreadygone', retry())).toBe('gone');
    expect(deletes()).toBe(1);
  });

  it('certificate_in_use is a final answer, thrown as it is, not retried', async () => {
    const c = emu.addCertificate(makeCa().pem, { activeProjects: ['proj_alpha'] });
    const error = (await deleteCertificate(api, c.id, retry()).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toMatch(/certificate_in_use/);
    expect(deletes()).toBe(1);
  });

  it('when every answer is lost, says it is not known whether it was deleted', async () => {
    const c = emu.addCertificate(makeCa().pem);
    emu.addFault({ kind: 'hang', method: 'DELETE', times: Infinity });
    const error = (await deleteCertificate(api, c.id, retry(1)).catch((e: unknown) => e)) as ActionError;
    expect(error.message).toMatch(new RegExp(`The action tried 2 times\\. It is not known whether ${c.id} was deleted`));
    expect(deletes()).toBe(2);
  });
});

describe('deactivate', () => {
  it('a deactivation whose answer was lost is simply retried (it is idempotent)', async () => {
    const c = emu.addCertificate(makeCa().pem, { activeProjects: ['proj_alpha'] });
    emu.addFault({ kind: 'drop-after', path: /deactivate$/ });
    await deactivate(api, 'proj_alpha', [c.id], retry());
    expect(emu.activeIn('proj_alpha')).toEqual([]);
  });

  it('a certificate that is gone counts as deactivated; in a call with others, the others are still deactivated', async () => {
    const a = emu.addCertificate(makeCa({ cn: 'A' }).pem, { activeOrg: true });
    const b = emu.addCertificate(makeCa({ cn: 'B' }).pem, { activeOrg: true });
    await deactivate(api, 'organization', [a.id, 'cert_deletedmeanwhile', b.id], retry());
    expect(emu.activeIn('organization')).toEqual([]);
    expect(lines).toContain('cert_deletedmeanwhile is gone: it is no longer active anywhere.');
  });

  it('an unknown project is a failure, not a certificate that is gone', async () => {
    const c = emu.addCertificate(makeCa().pem);
    await expect(deactivate(api, 'proj_nosuch', [c.id], retry())).rejects.toThrow(/project proj_nosuch was not found/);
  });
});

describe('writes: what they say, and who retries', () => {
  it('a plain deletion, or one of a certificate already gone, says nothing about a lost answer', async () => {
    const c = emu.addCertificate(makeCa().pem);
    await deleteCertificate(api, c.id, retry());
    await deleteCertificate(api, 'cert_alreadygone', retry());
    expect(lines).toEqual([]);
  });

  it('a deactivation is retried by the action (which says so), never by the SDK on its own', async () => {
    const c = emu.addCertificate(makeCa().pem, { activeProjects: ['proj_alpha'] });
    emu.addFault({ kind: 'status', status: 500, path: /deactivate$/ });
    await deactivate(api, 'proj_alpha', [c.id], retry());
    expect(emu.activeIn('proj_alpha')).toEqual([]);
    expect(emu.requests.filter((r) => r.path.endsWith('/deactivate'))).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^Attempt 1 to deactivate ${c.id} failed \\(HTTP 500\\)`));
  });

  it('when every answer of a deactivation is lost, says it is not known, for one certificate or several', async () => {
    const a = emu.addCertificate(makeCa({ cn: 'A' }).pem, { activeOrg: true });
    const b = emu.addCertificate(makeCa({ cn: 'B' }).pem, { activeOrg: true });
    emu.addFault({ kind: 'status', status: 500, path: /deactivate$/, times: Infinity });
    const one = (await deactivate(api, 'organization', [a.id], retry(0)).catch((e: unknown) => e)) as ActionError;
    expect(one.message).toMatch(new RegExp(`It is not known whether ${a.id} was deactivated: an answer was lost\\.$`));
    const two = (await deactivate(api, 'organization', [a.id, b.id], retry(0)).catch((e: unknown) => e)) as ActionError;
    expect(two.message).toMatch(new RegExp(`It is not known whether ${a.id}, ${b.id} were deactivated: an answer was lost\\.$`));
  });
});
