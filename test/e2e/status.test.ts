/**
 * The status action (status/action.yml), compiled, against the emulator seeded with certificates of
 * chosen expiries: its outputs must match the organization's real state, and it must never write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { FAKE_GITHUB_TOKEN, leaks, runStatusAction, statusActionYml, type ActionRun } from '../helpers/action.ts';
import { makeDatedCa, tempDir, type MadeCertificate } from '../helpers/certs.ts';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.ts';
import { serverTest, type Closable } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
// Whatever a test did, the status action only read: each emulator is checked when its test ends.
const it = serverTest.extend('emulator', async ({ track, onTestFinished }) => async (options: EmulatorOptions = {}): Promise<Emulator> => {
  const emu = track(await startEmulator(options));
  onTestFinished(({ expect }) => {
    expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
  return emu;
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

describe.concurrent('compiled status action: coverage and renewal', () => {
  it('mid-rotation: the new CA covers for the old one, so no renewal is due', async ({ emulator, expect }) => {
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

  it('renewal due within renew-within-days: true, a warning for the scope, and the step passes', async ({ emulator, expect }) => {
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

  it('an active CA that has expired fails the step, with an error for the scope, and still writes every output', async ({
    emulator,
    expect,
  }) => {
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

  it('fail-within-days is inclusive of soon: 10 days left with fail-within-days 14 fails', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addCertificate(in10.pem, { activeOrg: true });
    const run = await status(emu, { 'fail-within-days': '14' });
    expect(run.code).toBe(1);
    expect(run.outputs['renewal-due']).toBe('true');
  });

  it('no watched certificate active in any watched scope: watching nothing fails the step, the outputs are still written', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    emu.addCertificate(in10.pem, { name: 'corp-ca' });
    const run = await status(emu, { projects: 'proj_alpha,proj_beta' });
    expect(run.code).toBe(1);
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([
      expect.objectContaining({
        title: 'watching nothing',
        message: expect.stringMatching(
          /^No certificate is active in the watched scopes \(the organization, project proj_alpha, project proj_beta\)\. .* Add to projects the projects where the CA is active/,
        ),
      }),
    ]);
    expect(run.outputs).toEqual({
      'renewal-due': 'false',
      'certificate-id': '',
      name: '',
      'expires-at': '',
      'expires-at-iso': '',
      'days-until-expiry': '',
      certificates: expect.any(String),
      count: '1',
      'issue-number': '',
      'issue-action': 'none',
    });
    expect(certificatesOf(run)).toEqual([expect.objectContaining({ active: [] })]);
    expect(run.summary).toMatch(/❌ Failed: No certificate is active in the watched scopes/);
    expect(run.summary).toMatch(/\| project `proj_beta` \| none \| — \| ➖ no watched certificate active \|/);
    expect(run.stdout).not.toMatch(/\n\s+at /);
  });

  it('a name with a typo fails the step, naming what it looked for, where, and the closest name found', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addCertificate(in400.pem, { name: 'corp-mtls-ca', activeOrg: true });
    emu.addCertificate(in600.pem, { name: 'payments-ca' });
    const run = await status(emu, { name: 'corp-mtls-typo' });
    expect(run.code).toBe(1);
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([
      expect.objectContaining({
        title: 'input name',
        message: expect.stringMatching(
          /^No certificate named "corp-mtls-typo" in the organization, which holds 2 certificates; the closest names: "corp-mtls-ca", "payments-ca"\. .*Set name to the exact name/,
        ),
      }),
    ]);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'false', 'certificate-id': '', count: '2' });
    expect(run.summary).not.toMatch(/No renewal due/);
    expect(run.stdout).not.toMatch(/\n\s+at /);
    expect(leaks(run, [key])).toEqual([]);
  });

  it('an expiry the API lists as null is unknown: exit 1, coverage unverified, no date and no 1970 anywhere', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const undated = emu.addCertificate(in400.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
    (undated as { expires_at: number | null }).expires_at = null;
    const run = await status(emu, { projects: 'proj_alpha' });
    expect(run.code).toBe(1);
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([
      expect.objectContaining({
        title: 'coverage unknown',
        message: expect.stringMatching(
          new RegExp(`^The coverage of the organization \\(${undated.id}\\); project proj_alpha \\(${undated.id}\\) cannot be verified`),
        ),
      }),
    ]);
    expect(run.outputs).toMatchObject({
      'renewal-due': '',
      'certificate-id': '',
      'expires-at': '',
      'expires-at-iso': '',
      'days-until-expiry': '',
    });
    expect(certificatesOf(run)).toEqual([expect.objectContaining({ id: undated.id, expires_at: null, days_until_expiry: null })]);
    expect(run.summary).toMatch(/❔ Coverage unknown/);
    expect(run.everything).not.toMatch(/1970/);
  });

  it('an undated certificate beside a dated one: the dated one gives the coverage, and a warning names the undated one', async ({
    emulator,
    expect,
  }) => {
    const emu = await emulator();
    const undated = emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    (undated as { expires_at: number | null }).expires_at = null;
    const dated = emu.addCertificate(in400.pem, { name: 'corp-ca', activeOrg: true });
    const run = await status(emu);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'false', 'certificate-id': dated.id, 'days-until-expiry': '399' });
    expect(run.annotations).toEqual([
      expect.objectContaining({
        level: 'warning',
        title: 'renewal organization',
        message: `the organization: the API lists no expiry for ${undated.id} ("corp-ca"), active there; its coverage is counted from the dated certificates only.`,
      }),
    ]);
    expect(run.everything).not.toMatch(/1970/);
  });

  it('name watches only the certificates with that name', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addCertificate(expired2.pem, { name: 'other-ca', activeOrg: true, skipValidation: true });
    const mine = emu.addCertificate(in600.pem, { name: 'corp-ca', activeOrg: true });
    const run = await status(emu, { name: 'corp-ca' });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'false', 'certificate-id': mine.id, count: '2' });
    expect(certificatesOf(run).map((c) => c.id)).toEqual([mine.id]);
  });

  it('the shortest coverage among scopes is named; projects count only their own activations', async ({ emulator, expect }) => {
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

describe.concurrent('compiled status action: projects: all', () => {
  it('lists every project that is not archived, page by page, and reads their scopes', async ({ emulator, expect }) => {
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

describe.concurrent('compiled status action: failures and bad input', () => {
  it('a project id that does not exist fails the run, naming the project; the outputs are still written', async ({ emulator, expect }) => {
    const emu = await emulator();
    emu.addCertificate(in400.pem, { activeOrg: true });
    const run = await status(emu, { projects: 'proj_alpha,proj_nosuch' });
    expect(run.code).toBe(1);
    const [error] = run.annotations.filter((a) => a.level === 'error');
    expect(error?.message).toMatch(/project proj_nosuch was not found \(404\).*Check the id in projects/);
    expect(Object.keys(run.outputs).sort()).toEqual(Object.keys(statusActionYml.outputs).sort());
    expect(run.summary).toMatch(/❌ Failed: Could not list the certificates of project proj_nosuch/);
  });

  it.for<[Record<string, string>, string, RegExp]>([
    [{ 'admin-api-key': '' }, 'input admin-api-key', /No OpenAI Admin API key/],
    [{ 'admin-api-key': 'sk-proj-abc123' }, 'input admin-api-key', /project or service-account key/],
    [{ projects: 'proj_ok, project-2' }, 'input projects', /Not project ids: "project-2"/],
    [{ 'renew-within-days': '-1' }, 'input renew-within-days', /must be a number from 0 to 3650, not "-1"/],
    [{ 'fail-within-days': 'soon' }, 'input fail-within-days', /must be a number from 0 to 3650, not "soon"/],
    [{ 'renew-within-days': '5', 'fail-within-days': '7' }, 'input fail-within-days', /is greater than renew-within-days/],
    [{ 'base-url': 'http://api.example.test/v1' }, 'input base-url', /plain http/],
    [{ name: 'x'.repeat(201) }, 'input name', /at most 200 characters/],
    [{ 'open-issue': 'yes' }, 'input open-issue', /must be true or false, not "yes"/],
    [{ 'open-issue': 'true', 'github-token': '' }, 'input github-token', /open-issue is true but github-token is empty/],
    [{ 'renewal-workflow': '../renew.yml' }, 'input renewal-workflow', /must be a workflow's file name/],
  ])('refuses %j with one clear annotation, exit 1, nothing sent', async ([inputs, title, message], { emulator, expect }) => {
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

describe.concurrent('compiled status action: the tracking issue (open-issue)', () => {
  const MARKER = '<!-- openai-mtls-status name=corp-ca -->';
  const started = async (track: <T extends Closable>(server: T) => T): Promise<FakeGitHub> =>
    track(await startFakeGitHub(FAKE_GITHUB_TOKEN));
  const githubEnv = (github: FakeGitHub): Record<string, string> => ({
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_RUN_ID: '4242',
  });
  const tracked = (emu: Emulator, github: FakeGitHub, inputs: Record<string, string> = {}, env: Record<string, string> = {}) =>
    runStatusAction(
      { 'admin-api-key': key, 'base-url': emu.baseURL, name: 'corp-ca', 'open-issue': 'true', ...inputs },
      { env: { ...githubEnv(github), ...env } },
    );
  const writes = (github: FakeGitHub) => github.requests.filter((r) => r.method !== 'GET');

  it('due: opens one issue; due again: updates that issue; healthy: closes it with a comment', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await started(track);
    // Someone's issue with the same title and label but not the marker: never the action's to touch.
    const decoy = github.addIssue({ title: 'OpenAI mTLS CA renewal due: corp-ca', body: 'mine, by hand', labels: ['openai-mtls-renewal'] });
    const soon = emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });

    const first = await tracked(emu, github);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const mine = github.issues.filter((i) => i !== decoy);
    expect(mine).toHaveLength(1);
    const issue = mine[0]!;
    expect(first.outputs).toMatchObject({ 'renewal-due': 'true', 'issue-action': 'opened', 'issue-number': String(issue.number) });
    expect(issue).toMatchObject({ state: 'open', title: 'OpenAI mTLS CA renewal due: corp-ca', labels: ['openai-mtls-renewal'] });
    expect(issue.body.split('\n')[0]).toBe(MARKER);
    const iso = new Date(soon.expires_at * 1000).toISOString().replace('.000Z', 'Z');
    expect(issue.body).toContain(`| the organization | ${soon.id} ("corp-ca") | ${iso} | in 19 days | 🔔 renewal due |`);
    expect(issue.body).toContain('**What to do**: Run your renewal workflow');
    expect(issue.body).toContain('by [this run](https://github.example/example/repo/actions/runs/4242)');
    expect(first.stdout).toContain(`open-issue: opened the tracking issue #${issue.number}.`);
    expect(first.summary).toContain(`Tracking issue: #${issue.number} (opened).`);

    const second = await tracked(emu, github, { 'renewal-workflow': 'renew-mtls-ca.yml' });
    expect(second.code).toBe(0);
    expect(github.issues.filter((i) => i !== decoy)).toHaveLength(1);
    expect(second.outputs).toMatchObject({ 'issue-action': 'updated', 'issue-number': String(issue.number) });
    expect(issue.body).toContain(
      'Run the renewal workflow [`renew-mtls-ca.yml`](https://github.example/example/repo/actions/workflows/renew-mtls-ca.yml)',
    );
    expect(decoy).toMatchObject({ state: 'open', body: 'mine, by hand', comments: [] });
    // Found by the label: the list asked for it, open issues only.
    expect(github.requests.filter((r) => r.method === 'GET').map((r) => r.query)).toEqual([
      expect.objectContaining({ state: 'open', labels: 'openai-mtls-renewal' }),
      expect.objectContaining({ state: 'open', labels: 'openai-mtls-renewal' }),
    ]);

    emu.addCertificate(in400.pem, { name: 'corp-ca', activeOrg: true });
    const third = await tracked(emu, github);
    expect(third.code).toBe(0);
    expect(third.outputs).toMatchObject({ 'renewal-due': 'false', 'issue-action': 'closed', 'issue-number': String(issue.number) });
    expect(issue).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(issue.comments).toEqual([
      expect.objectContaining({
        body: expect.stringMatching(/^✅ Coverage is healthy again: .* ends on .* \(in 399 days\)\. Closed by \[this run\]/),
      }),
    ]);
    expect(decoy.state).toBe('open');

    const fourth = await tracked(emu, github);
    expect(fourth.outputs).toMatchObject({ 'issue-action': 'none', 'issue-number': '' });
    expect(writes(github)).toHaveLength(4); // open, update, comment, close
    expect(leaks(fourth, [key, FAKE_GITHUB_TOKEN])).toEqual([]);
  });

  it('one issue per watched name: another name opens its own', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await started(track);
    emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    emu.addCertificate(in10.pem, { name: 'corp-ca-2', activeProjects: ['proj_alpha'] });
    await tracked(emu, github);
    const other = await tracked(emu, github, { name: 'corp-ca-2', projects: 'proj_alpha', 'fail-within-days': '0' });
    expect(other.outputs['issue-action']).toBe('opened');
    expect(github.issues.map((i) => i.body.split('\n')[0])).toEqual([MARKER, '<!-- openai-mtls-status name=corp-ca-2 -->']);
  });

  it('without issues: write (403): a warning that says so, and the outputs and exit code as without open-issue', async ({
    emulator,
    track,
    expect,
  }) => {
    const emu = await emulator();
    const github = await started(track);
    github.failWith = 403;
    emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    const plain = await status(emu, { name: 'corp-ca' });
    const run = await tracked(emu, github);
    expect(run.code).toBe(plain.code);
    expect(run.code).toBe(0);
    expect({ ...run.outputs, 'issue-action': '' }).toEqual({ ...plain.outputs, 'issue-action': '' });
    expect(run.outputs['issue-action']).toBe('failed');
    expect(run.annotations.filter((a) => a.title === 'open-issue')).toEqual([
      expect.objectContaining({
        level: 'warning',
        message: expect.stringMatching(
          /^open-issue: could not open or update the tracking issue: the token may not write issues here \(403\).*permissions: issues: write.*The status outputs and the exit code are unaffected\.$/,
        ),
      }),
    ]);
    expect(github.issues).toEqual([]);
  });

  it('on a pull request from a fork: skipped with a warning, nothing sent to GitHub', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await started(track);
    emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    const eventPath = path.join(tempDir('mtls-event-'), 'event.json');
    fs.writeFileSync(
      eventPath,
      JSON.stringify({
        pull_request: {
          number: 3,
          head: { repo: { full_name: 'someone/repo', fork: true } },
          base: { repo: { full_name: 'example/repo' } },
        },
      }),
    );
    const run = await tracked(emu, github, {}, { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'true', 'issue-action': 'skipped', 'issue-number': '' });
    expect(run.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        title: 'open-issue',
        message: expect.stringMatching(/pull request from a fork, whose token is read-only/),
      }),
    );
    expect(github.requests).toEqual([]);
  });

  it('a GitHub API that never answers: bounded by timeout-seconds, a timeout warning, no permission hint', async ({
    emulator,
    track,
    expect,
  }) => {
    const emu = await emulator();
    const github = await started(track);
    github.hang = true;
    emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    const run = await tracked(emu, github, { 'timeout-seconds': '1' });
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(15_000);
    expect(github.requests).toHaveLength(1);
    expect(run.outputs).toMatchObject({ 'renewal-due': 'true', 'issue-action': 'failed' });
    const [warning] = run.annotations.filter((a) => a.title === 'open-issue');
    expect(warning?.message).toMatch(
      new RegExp(`GitHub's API \\(${github.url.replace(/\./g, '\\.')}\\) did not answer within 1 s \\(timeout-seconds\\)`),
    );
    expect(warning?.message).not.toMatch(/issues: write|permission|403|HTTP \d/);
  });

  it('a GitHub API that cannot be reached: a connection warning, no permission hint', async ({ emulator, track, expect }) => {
    const emu = await emulator();
    const github = await started(track);
    await github.close(); // nothing listens on its port any more
    emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
    const run = await tracked(emu, github);
    expect(run.code).toBe(0);
    expect(run.outputs['issue-action']).toBe('failed');
    const [warning] = run.annotations.filter((a) => a.title === 'open-issue');
    expect(warning?.message).toMatch(/could not reach GitHub's API .*ECONNREFUSED.*Check the network/);
    expect(warning?.message).not.toMatch(/issues: write|permission|HTTP \d/);
  });
});
