/**
 * The status action (status/action.yml), compiled, against the emulator seeded with certificates of
 * chosen expiries: its outputs must match the organization's real state, and it must never write.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { leaks, runStatusAction, type ActionRun } from '../helpers/action.ts';
import { makeDatedCa, type MadeCertificate } from '../helpers/certs.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
const track = closeAfterEach();
const started: Emulator[] = [];
const emulator = async (options: EmulatorOptions = {}): Promise<Emulator> => {
  const emu = track(await startEmulator(options));
  started.push(emu);
  return emu;
};
// Whatever a test did, the status action only read.
afterEach(() => {
  for (const emu of started.splice(0)) expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]);
});

/** A CA that expires in `days` days (negative: expired that many days ago). */
const expiring = (days: number, cn: string): Promise<MadeCertificate> =>
  makeDatedCa(new Date(Date.now() - 400 * DAY), new Date(Date.now() + days * DAY), cn);

let in10: MadeCertificate;
let in20: MadeCertificate;
let in400: MadeCertificate;
let in600: MadeCertificate;
let expired2: MadeCertificate;
beforeAll(async () => {
  [in10, in20, in400, in600, expired2] = await Promise.all([
    expiring(10, 'Ten'),
    expiring(20, 'Twenty'),
    expiring(400, 'Four hundred'),
    expiring(600, 'Six hundred'),
    expiring(-2, 'Expired'),
  ]);
});

const status = (emu: Emulator, inputs: Record<string, string> = {}): Promise<ActionRun> =>
  runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL, ...inputs });
const certificatesOf = (run: ActionRun) =>
  JSON.parse(run.outputs.certificates ?? 'null') as Array<{
    id: string;
    name: string | null;
    expires_at: number;
    days_until_expiry: number;
    active: string[];
  }>;

describe('compiled status action: coverage and renewal', () => {
  it('mid-rotation: the new CA covers for the old one, so no renewal is due', async () => {
    const emu = await emulator();
    const old = emu.addCertificate(in10.pem, { name: 'corp-ca', activeOrg: true });
    const next = emu.addCertificate(in400.pem, { name: 'corp-ca', activeOrg: true });
    const run = await status(emu);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({
      'renewal-due': 'false',
      'certificate-id': next.id,
      name: 'corp-ca',
      'expires-at': String(next.expires_at),
      'expires-at-iso': new Date(next.expires_at * 1000).toISOString().replace('.000Z', 'Z'),
      'days-until-expiry': '399',
      count: '2',
    });
    expect(certificatesOf(run).map((c) => [c.id, c.active])).toEqual([
      [old.id, ['organization']],
      [next.id, ['organization']],
    ]);
    expect(run.annotations.filter((a) => a.level !== 'notice')).toEqual([]);
    expect(run.summary).toMatch(
      /✅ No renewal due: the shortest coverage, the organization's coverage, by cert_\w+ \("corp-ca"\), ends on/,
    );
    expect(leaks(run, [key])).toEqual([]);
  });

  it('renewal due within renew-within-days: true, a warning for the scope, and the step passes', async () => {
    const emu = await emulator();
    const soon = emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    const run = await status(emu);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'true', 'certificate-id': soon.id, 'days-until-expiry': '19' });
    expect(run.annotations).toEqual([
      expect.objectContaining({
        level: 'warning',
        title: 'renewal organization',
        message: expect.stringMatching(/within renew-within-days \(30\)/),
      }),
    ]);
    expect(run.summary).toMatch(
      /🔔 Renewal due: the organization's coverage, by cert_\w+ \("corp-ca"\), ends on .* \(19 days left\), within renew-within-days \(30\)\./,
    );
  });

  it('an active CA that has expired fails the step, with an error for the scope, and still writes every output', async () => {
    const emu = await emulator();
    const dead = emu.addCertificate(expired2.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'], skipValidation: true });
    emu.addCertificate(in400.pem, { name: 'corp-ca', activeOrg: true });
    const run = await status(emu, { projects: 'proj_alpha' });
    expect(run.code).toBe(1);
    // Whole days, rounded down as everywhere: it ended 2 days and some seconds ago.
    expect(run.outputs).toMatchObject({ 'renewal-due': 'true', 'certificate-id': dead.id, 'days-until-expiry': '-3', count: '2' });
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        title: 'renewal proj_alpha',
        message: expect.stringMatching(/^project proj_alpha's coverage has ended on/),
      }),
    ]);
    expect(run.summary).toMatch(
      /❌ Renewal overdue: project proj_alpha's coverage, by cert_\w+ \("corp-ca"\), ended on .* \(ended 2 days ago\), within fail-within-days \(7\)\./,
    );
    expect(run.stdout).not.toMatch(/\n\s+at /);
  });

  it('fail-within-days is inclusive of soon: 10 days left with fail-within-days 14 fails', async () => {
    const emu = await emulator();
    emu.addCertificate(in10.pem, { activeOrg: true });
    const run = await status(emu, { 'fail-within-days': '14' });
    expect(run.code).toBe(1);
    expect(run.outputs['renewal-due']).toBe('true');
  });

  it('no watched certificate active anywhere: listed, neither due nor failing, outputs about a certificate empty', async () => {
    const emu = await emulator();
    emu.addCertificate(in10.pem, { name: 'corp-ca' });
    const run = await status(emu, { projects: 'proj_alpha,proj_beta' });
    expect(run.code).toBe(0);
    expect(run.outputs).toEqual({
      'renewal-due': 'false',
      'certificate-id': '',
      name: '',
      'expires-at': '',
      'expires-at-iso': '',
      'days-until-expiry': '',
      certificates: expect.any(String),
      count: '1',
    });
    expect(certificatesOf(run)).toEqual([expect.objectContaining({ active: [] })]);
    expect(run.summary).toMatch(/➖ No renewal due: no watched certificate is active in any watched scope/);
    expect(run.summary).toMatch(/\| project `proj_beta` \| none \| — \| ➖ no watched certificate active \|/);
  });

  it('name watches only the certificates with that name', async () => {
    const emu = await emulator();
    emu.addCertificate(expired2.pem, { name: 'other-ca', activeOrg: true, skipValidation: true });
    const mine = emu.addCertificate(in600.pem, { name: 'corp-ca', activeOrg: true });
    const run = await status(emu, { name: 'corp-ca' });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'false', 'certificate-id': mine.id, count: '2' });
    expect(certificatesOf(run).map((c) => c.id)).toEqual([mine.id]);
  });

  it('the shortest coverage among scopes is named; projects count only their own activations', async () => {
    const emu = await emulator();
    emu.addCertificate(in600.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
    const beta = emu.addCertificate(in20.pem, { name: 'corp-ca', activeProjects: ['proj_beta'] });
    const run = await status(emu, { projects: 'proj_alpha\nproj_beta, proj_gamma' });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'true', 'certificate-id': beta.id });
    expect(run.annotations.map((a) => a.title)).toEqual(['renewal proj_beta']);
    expect(certificatesOf(run).map((c) => c.active)).toEqual([['organization', 'proj_alpha'], ['proj_beta']]);
  });
});

describe('compiled status action: projects: all', () => {
  it('lists every project that is not archived, page by page, and reads their scopes', async () => {
    const projects = [
      ...Array.from({ length: 130 }, (_, i) => `proj_p${String(i).padStart(3, '0')}`),
      { id: 'proj_archived', archived: true },
    ];
    const emu = await emulator({ projects });
    const cert = emu.addCertificate(in20.pem, { name: 'corp-ca', activeProjects: ['proj_p129', 'proj_archived'] });
    const run = await status(emu, { projects: 'all' });
    expect(run.code).toBe(0);
    const listed = emu.requests.filter((r) => r.path === '/v1/organization/projects');
    expect(listed).toHaveLength(2);
    const scopeLists = emu.requests.filter((r) => /\/projects\/proj_\w+\/certificates$/.test(r.path)).map((r) => r.path.split('/')[4]);
    expect(scopeLists).toHaveLength(130);
    expect(scopeLists).not.toContain('proj_archived');
    expect(run.outputs).toMatchObject({ 'renewal-due': 'true', 'certificate-id': cert.id });
    expect(certificatesOf(run)[0]?.active).toEqual(['proj_p129']);
    expect(run.stdout).toContain('projects: all: 130 project(s) that are not archived.');
  });
});

describe('compiled status action: failures and bad input', () => {
  it('a project id that does not exist fails the run, naming the project; the outputs are still written', async () => {
    const emu = await emulator();
    emu.addCertificate(in400.pem, { activeOrg: true });
    const run = await status(emu, { projects: 'proj_alpha,proj_nosuch' });
    expect(run.code).toBe(1);
    const [error] = run.annotations.filter((a) => a.level === 'error');
    expect(error?.message).toMatch(/project proj_nosuch was not found \(404\).*Check the id in projects/);
    expect(Object.keys(run.outputs).sort()).toEqual(
      ['certificate-id', 'certificates', 'count', 'days-until-expiry', 'expires-at', 'expires-at-iso', 'name', 'renewal-due'].sort(),
    );
    expect(run.summary).toMatch(/❌ Failed: Could not list the certificates of project proj_nosuch/);
  });

  it.each([
    [{ 'admin-api-key': '' }, 'input admin-api-key', /No OpenAI Admin API key/],
    [{ 'admin-api-key': 'sk-proj-abc123' }, 'input admin-api-key', /project or service-account key/],
    [{ projects: 'proj_ok, project-2' }, 'input projects', /Not project ids: "project-2"/],
    [{ 'renew-within-days': '-1' }, 'input renew-within-days', /must be a number from 0 to 3650, not "-1"/],
    [{ 'fail-within-days': 'soon' }, 'input fail-within-days', /must be a number from 0 to 3650, not "soon"/],
    [{ 'renew-within-days': '5', 'fail-within-days': '7' }, 'input fail-within-days', /is greater than renew-within-days/],
    [{ 'base-url': 'http://api.example.test/v1' }, 'input base-url', /plain http/],
  ])('refuses %j with one clear annotation, exit 1, nothing sent', async (inputs, title, message) => {
    const emu = await emulator();
    const run = await status(emu, inputs);
    expect(run.code).toBe(1);
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([
      expect.objectContaining({ title, message: expect.stringMatching(message) }),
    ]);
    expect(emu.requests).toEqual([]);
    expect(run.stdout).not.toMatch(/\n\s+at /);
    expect(leaks(run, [key])).toEqual([]);
  });
});
