/**
 * The cleanup rules, through the compiled action, pinned by the requests it sends (emu.requests) and not
 * only by the state it leaves: the emulator, like the API, refuses to delete a certificate in use
 * (certificate_in_use, which the action reports as a notice), so a run that asked to delete one would
 * leave the same organization behind. Only the request log shows that the action never asks.
 */
import { describe } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { runAction, type ActionRun } from '../helpers/action.ts';
import { makeCa, makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { serverTest as it } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
const ORG_LIST = '/v1/organization/certificates';

/** The ids of the certificates the run asked to delete, in order. */
const deletions = (emu: Emulator): string[] =>
  emu.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.slice(`${ORG_LIST}/`.length));
const uploads = (emu: Emulator): number => emu.requests.filter((r) => r.method === 'POST' && r.path === ORG_LIST).length;
/** The certificates whose content the run read (include[]=content). */
const contentReads = (emu: Emulator): string[] =>
  emu.requests
    .filter((r) => r.method === 'GET' && r.path.startsWith(`${ORG_LIST}/cert_`) && r.query['include[]'] === 'content')
    .map((r) => r.path.slice(`${ORG_LIST}/`.length));
const notices = (run: ActionRun): string[] => run.annotations.filter((a) => a.level === 'notice').map((a) => a.message);

/** A CA that expired `daysAgo` days ago (the API never stores one: the emulator is told to skip its checks). */
/** The compiled action uploading a new CA named "new" into `emu`, with these further inputs. */
const newCa = (emu: Emulator, inputs: Record<string, string>): Promise<ActionRun> =>
  runAction({ 'admin-api-key': key, certificate: makeCa({ cn: 'New' }).pem, name: 'new', 'base-url': emu.baseURL, ...inputs });
const expiredCa = (cn: string, daysAgo = 10): Promise<MadeCertificate> =>
  makeDatedCa(new Date(Date.now() - 400 * DAY), new Date(Date.now() - daysAgo * DAY), cn);

describe.concurrent('compiled action: delete-expired never asks to delete a certificate in use', () => {
  it('an expired certificate active in the organization: no DELETE is sent for it, only for the inactive one', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const inactive = emu.addCertificate((await expiredCa('Expired, inactive')).pem, { name: 'old', skipValidation: true });
    const inUse = emu.addCertificate((await expiredCa('Expired, active for the organization', 5)).pem, {
      name: 'old',
      skipValidation: true,
      activeOrg: true,
    });
    const run = await newCa(emu, {
      'delete-expired': 'true',
    });
    expect(run.code).toBe(0);
    expect(deletions(emu)).toEqual([inactive.id]);
    expect(run.outputs.deleted).toBe(inactive.id);
    expect(emu.activeIn('organization')).toEqual([inUse.id]);
    // Kept, and said so from what was read (no refused DELETE).
    expect(notices(run).filter((n) => n.includes(inUse.id))).toEqual([expect.stringMatching(/still active for the organization/)]);
  });

  it('an expired certificate active in a project named in activate-projects: no DELETE is sent for it', async ({ emulator, expect }) => {
    const emu = await emulator();
    const inactive = emu.addCertificate((await expiredCa('Expired, inactive')).pem, { name: 'old', skipValidation: true });
    // Inactive for the organization, so only the project's list (which the plan reads) shows it in use.
    const inProject = emu.addCertificate((await expiredCa('Expired, active in proj_alpha', 3)).pem, {
      name: 'old',
      skipValidation: true,
      activeProjects: ['proj_alpha'],
    });
    const run = await newCa(emu, {
      'activate-projects': 'proj_alpha',
      'delete-expired': 'true',
    });
    expect(run.code).toBe(0);
    expect(deletions(emu)).toEqual([inactive.id]);
    expect(run.outputs.deleted).toBe(inactive.id);
    expect(emu.activeIn('proj_alpha').sort()).toEqual([inProject.id, run.outputs['certificate-id']].sort());
    expect(notices(run).filter((n) => n.includes(inProject.id))).toEqual([expect.stringMatching(/still active for project proj_alpha/)]);
  });

  it('a certificate whose expiry the list does not give is never deleted; once the list gives it, it is', async ({ emulator, expect }) => {
    const emu = await emulator();
    const expired = emu.addCertificate((await expiredCa('Expired, expiry not listed')).pem, { name: 'old', skipValidation: true });
    // The organization's list leaves out certificate_details.expires_at (the field is optional).
    emu.addFault({ kind: 'thin', method: 'GET', path: ORG_LIST, omit: ['expires_at'], times: Infinity });
    const inputs = { 'admin-api-key': key, name: 'new', 'base-url': emu.baseURL, 'delete-expired': 'true' };
    const run = await runAction({ ...inputs, certificate: makeCa({ cn: 'New' }).pem });
    expect(run.code).toBe(0);
    expect(deletions(emu)).toEqual([]);
    expect(run.outputs.deleted).toBe('');
    expect(emu.certificates.map((c) => c.id)).toContain(expired.id);

    // The same organization with whole answers: the certificate is deleted, so it was the expiry that kept it.
    emu.faults.length = 0;
    emu.requests.length = 0;
    const whole = await runAction({ ...inputs, certificate: makeCa({ cn: 'Next' }).pem });
    expect(whole.code).toBe(0);
    expect(deletions(emu)).toEqual([expired.id]);
    expect(whole.outputs.deleted).toBe(expired.id);
  });
});

describe.concurrent('compiled action: at the 50-certificate cap, only expired certificates inactive everywhere count as room', () => {
  const cases: Array<{
    name: string;
    setup: (emu: Emulator, expired: MadeCertificate) => { id: string };
    inputs?: Record<string, string>;
  }> = [
    {
      name: 'expired but active for the organization',
      setup: (emu, expired) => emu.addCertificate(expired.pem, { skipValidation: true, activeOrg: true }),
    },
    {
      name: 'expired but active in a project named in activate-projects',
      setup: (emu, expired) => emu.addCertificate(expired.pem, { skipValidation: true, activeProjects: ['proj_alpha'] }),
      inputs: { 'activate-projects': 'proj_alpha' },
    },
    {
      name: 'expired, but the list does not give its expiry',
      setup: (emu, expired) => {
        emu.addFault({ kind: 'thin', method: 'GET', path: ORG_LIST, omit: ['expires_at'], times: Infinity });
        return emu.addCertificate(expired.pem, { skipValidation: true });
      },
    },
  ];

  for (const { name, setup, inputs } of cases) {
    it(`49 valid certificates and one ${name}: refused, naming the cap, with nothing deleted and nothing uploaded`, async ({
      emulator,
      expect,
    }) => {
      const emu = await emulator();
      // Valid since two days ago: other validity dates than the new CA's, so none is read as a possible copy.
      const filler = await makeDatedCa(new Date(Date.now() - 2 * DAY), new Date(Date.now() + 300 * DAY), 'Filler');
      for (let i = 0; i < 49; i++) emu.addCertificate(filler.pem, { name: `current-${i}` });
      const fiftieth = setup(emu, await expiredCa('The fiftieth'));
      expect(emu.certificates).toHaveLength(50);
      const run = await newCa(emu, {
        'delete-expired': 'true',
        ...inputs,
      });
      expect(run.code).toBe(1);
      const errors = run.annotations.filter((a) => a.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ title: 'certificate limit' });
      expect(errors[0]!.message).toMatch(/already holds 50 certificates, the most OpenAI allows \(50\); nothing was uploaded\./);
      expect(errors[0]!.message).toMatch(/Only 0 of them are expired and inactive/);
      expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      expect(deletions(emu)).toEqual([]);
      expect(emu.certificates.map((c) => c.id)).toContain(fiftieth.id);
    });
  }

  it('49 valid certificates and one expired and inactive everywhere: deleted first, then the upload', async ({ emulator, expect }) => {
    const emu = await emulator();
    const filler = await makeDatedCa(new Date(Date.now() - 2 * DAY), new Date(Date.now() + 300 * DAY), 'Filler');
    for (let i = 0; i < 49; i++) emu.addCertificate(filler.pem, { name: `current-${i}` });
    const stale = emu.addCertificate((await expiredCa('The fiftieth')).pem, { skipValidation: true });
    const run = await newCa(emu, {
      'delete-expired': 'true',
      'activate-projects': 'proj_alpha',
    });
    expect(run.code).toBe(0);
    expect(deletions(emu)).toEqual([stale.id]);
    const deleteAt = emu.requests.findIndex((r) => r.method === 'DELETE');
    const uploadAt = emu.requests.findIndex((r) => r.method === 'POST' && r.path === ORG_LIST);
    expect(deleteAt).toBeGreaterThan(-1);
    expect(uploadAt).toBeGreaterThan(deleteAt);
    expect(emu.certificates).toHaveLength(50);
  });
});

describe.concurrent('compiled action: after a lost upload answer, an older identical certificate is not this run’s upload', () => {
  it('reuse-existing false and drop-after: the outputs name the new copy, and the older one is never read', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const ca = makeCa();
    const older = emu.addCertificate(ca.pem, { name: 'old', createdAt: Math.floor(Date.now() / 1000) - 3600 });
    emu.addFault({ kind: 'drop-after', method: 'POST', path: ORG_LIST });
    const run = await runAction({
      'admin-api-key': key,
      certificate: ca.pem,
      name: 'new',
      'base-url': emu.baseURL,
      'reuse-existing': 'false',
      'activate-projects': 'proj_alpha',
    });
    expect(run.code).toBe(0);
    expect(uploads(emu)).toBe(1);
    expect(emu.certificates).toHaveLength(2);
    const copy = emu.certificates.find((c) => c.id !== older.id)!;
    // The id never came back to this run (its answer was lost): it does not claim the upload.
    expect(run.outputs).toMatchObject({ 'certificate-id': copy.id, name: 'new', uploaded: 'false', activated: 'proj_alpha' });
    expect(run.stdout).toContain(`It was stored: ${copy.id} holds this certificate, so it is not uploaded again.`);
    // Only the new copy was read to recognise it; the older one, there before the run planned, was not.
    expect(contentReads(emu)).toEqual([copy.id]);
    expect(emu.activeIn('proj_alpha')).toEqual([copy.id]);
    expect(deletions(emu)).toEqual([]);
  });
});
