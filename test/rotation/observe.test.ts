/**
 * observe, against the emulator through the SDK: what it reads (and does not), and the state it gives decide.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CertificateApi } from '../../src/api/certificates.ts';
import type { StoredCertificate } from '../../src/api/reader.ts';
import { inspectCertificate, type CertificateInfo } from '../../src/certificate/inspect.ts';
import type { Request } from '../../src/rotation/decide.ts';
import { observe } from '../../src/rotation/observe.ts';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { recordingLogger, type RecordingLogger } from '../helpers/logger.ts';
import { sdkApi } from '../helpers/sdk.ts';

const DAY = 86_400_000;
let ca: MadeCertificate;
let other: MadeCertificate;
let expired: MadeCertificate;
let certificate: CertificateInfo;
beforeAll(async () => {
  ca = makeCa({ cn: 'Observed' });
  // Other dates than `ca`: never a possible copy, so its content is never read.
  other = makeCa({ cn: 'Other', days: 100 });
  expired = await makeDatedCa(new Date(Date.now() - 100 * DAY), new Date(Date.now() - DAY), 'Expired');
  certificate = inspectCertificate(ca.der);
});

let emu: Emulator;
let api: CertificateApi;
let log: RecordingLogger;
beforeEach(async () => {
  emu = await startEmulator();
  api = sdkApi(emu.baseURL);
  log = recordingLogger();
});
afterEach(() => emu.close());

const request = (overrides: Partial<Request> = {}): Request & { now: Date; log: RecordingLogger } => ({
  name: 'corp',
  reuseExisting: true,
  retirePrevious: false,
  deleteExpired: false,
  activateOrganization: false,
  activateProjects: ['proj_alpha'],
  now: new Date(),
  log,
  ...overrides,
});
const reads = (): string[] =>
  emu.requests.map((r) => `${r.method} ${r.path.replace('/v1/organization', '')}${r.query['include[]'] ? '?content' : ''}`);

describe('observe', () => {
  it('reads the organization and each requested project, and the content of a certificate that may be a copy', async () => {
    const copy = emu.addCertificate(ca.pem, { name: 'corp', activeProjects: ['proj_alpha'] });
    const unrelated = emu.addCertificate(other.pem, { name: 'other' });
    const state = await observe(api, request(), { certificate, existing: undefined });
    expect(state.organization.map((c) => c.id)).toEqual([copy.id, unrelated.id]);
    expect(state.projects.map(([scope, list]) => [scope, list.filter((c) => c.active).map((c) => c.id)])).toEqual([
      ['proj_alpha', [copy.id]],
    ]);
    expect(state.identical.map((c) => c.id)).toEqual([copy.id]);
    expect(state.allProjectsRead).toBe(false);
    expect(state.existing).toBeUndefined();
    expect(reads()).not.toContain('GET /projects');
    expect(reads().filter((r) => r.endsWith('?content'))).toEqual([`GET /certificates/${copy.id}?content`]);
  });

  it('with reuse-existing off, reads no content: the run uploads its own copy', async () => {
    emu.addCertificate(ca.pem, { name: 'corp' });
    const state = await observe(api, request({ reuseExisting: false }), { certificate, existing: undefined });
    expect(state.identical).toEqual([]);
    expect(reads().filter((r) => r.endsWith('?content'))).toEqual([]);
  });

  it('delete-expired with a candidate: reads every other project too, after the requested ones, and says so', async () => {
    const old = emu.addCertificate(expired.pem, { skipValidation: true, activeProjects: ['proj_gamma'] });
    const state = await observe(api, request({ deleteExpired: true }), { certificate, existing: undefined });
    expect(state.allProjectsRead).toBe(true);
    expect(state.projects.map(([scope]) => scope)).toEqual(['proj_alpha', 'proj_beta', 'proj_gamma']);
    expect(state.projects[2]![1]).toContainEqual(expect.objectContaining({ id: old.id, active: true }));
    expect(log.infos).toEqual(['delete-expired: read 3 project(s), to delete only certificates active in none of them.']);
  });

  it('delete-expired reads no other project when nothing may be deleted: none expired, or only the certificate the run goes on with', async () => {
    const state = await observe(api, request({ deleteExpired: true }), { certificate, existing: undefined });
    expect(state.allProjectsRead).toBe(false);
    const stored = emu.addCertificate(expired.pem, { skipValidation: true });
    const existing: StoredCertificate = await api.retrieve(stored.id);
    const named = await observe(api, request({ deleteExpired: true }), { certificate, existing });
    expect(named.allProjectsRead).toBe(false);
    expect(named.existing).toBe(existing);
    expect(reads()).not.toContain('GET /projects');
    // Without delete-expired, an expired candidate is not a reason to read them either.
    await observe(api, request(), { certificate, existing: undefined });
    expect(reads()).not.toContain('GET /projects');
    expect(log.infos).toEqual([]);
  });

  it('when the projects cannot be listed: goes on with the requested ones, and says what is kept', async () => {
    emu.addCertificate(expired.pem, { skipValidation: true });
    emu.addFault({
      kind: 'status',
      status: 403,
      code: 'insufficient_permissions',
      message: 'No.',
      method: 'GET',
      path: '/organization/projects',
    });
    const state = await observe(api, request({ deleteExpired: true }), { certificate, existing: undefined });
    expect(state.allProjectsRead).toBe(false);
    expect(state.projects.map(([scope]) => scope)).toEqual(['proj_alpha']);
    expect(log.infos).toEqual([
      expect.stringMatching(
        /^delete-expired: could not read every project \(.*\); a certificate still active in one is kept, as OpenAI refuses to delete it\.$/,
      ),
    ]);
  });
});
