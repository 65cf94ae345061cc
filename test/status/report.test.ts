import { describe, expect, it } from 'vitest';
import type { ListedCertificate } from '../../src/api/reader.ts';
import { assess } from '../../src/status/coverage.ts';
import { CANCELLED_ISSUE, NO_ISSUE, type IssueResult } from '../../src/status/issue.ts';
import { coverageOutputs, issueOutputs, renderStatusSummary, statusHeadline, STATUS_OUTPUT_NAMES } from '../../src/status/report.ts';
import { statusActionYml } from '../helpers/action.ts';

const NOW = new Date('2026-12-01T00:00:00Z');
const T = NOW.getTime() / 1000;
const DAY = 86_400;
const cert = (id: string, days: number, active: boolean, name: string | null = 'corp|ca'): ListedCertificate => ({
  id,
  name,
  createdAt: T - 10 * DAY,
  validAt: T - 10 * DAY,
  expiresAt: T + days * DAY,
  active,
});
const settings = { renewWithinDays: 30, failWithinDays: 7, name: undefined };
const of = (list: ListedCertificate[]) => assess(list, [], { ...settings, now: NOW });
/** Every output, as a run that got this far writes them (in two parts). */
const statusOutputs = (assessment: ReturnType<typeof of> | undefined, issue: IssueResult = NO_ISSUE) => ({
  ...coverageOutputs(assessment),
  ...issueOutputs(issue),
});

describe('status outputs', () => {
  it('names every output status/action.yml declares', () => {
    expect([...STATUS_OUTPUT_NAMES].sort()).toEqual(Object.keys(statusActionYml.outputs).sort());
  });

  it('come in two parts, the coverage and the tracking issue, which together name each output once', () => {
    const coverage = Object.keys(coverageOutputs(undefined));
    const issue = Object.keys(issueOutputs(NO_ISSUE));
    expect(issue).toEqual(['issue-number', 'issue-action']);
    expect([...coverage, ...issue]).toEqual([...STATUS_OUTPUT_NAMES]);
  });

  it('a run cancelled while writing the tracking issue: its number is not known (empty), its action is cancelled', () => {
    expect(issueOutputs(CANCELLED_ISSUE)).toEqual({ 'issue-number': '', 'issue-action': 'cancelled' });
  });

  it('are all empty strings when nothing could be assessed, but issue-action, which says none', () => {
    expect(statusOutputs(undefined)).toEqual({
      ...Object.fromEntries(STATUS_OUTPUT_NAMES.map((name) => [name, ''])),
      'issue-action': 'none',
    });
  });

  it('renewal-due is empty (unknown) when no scope is due but one cannot be dated; true when one is due', () => {
    const undated = { ...cert('cert_u', 0, true), expiresAt: null as unknown as number };
    expect(statusOutputs(of([undated]))['renewal-due']).toBe('');
    expect(statusOutputs(of([undated, cert('cert_b', 400, false)]))).toMatchObject({ 'renewal-due': '', 'certificate-id': '' });
    const a = assess([undated, cert('cert_d', 10, false)], [['proj_a', [cert('cert_d', 10, true)]]], { ...settings, now: NOW });
    expect(statusOutputs(a)['renewal-due']).toBe('true');
    expect(JSON.parse(statusOutputs(of([undated])).certificates)).toEqual([
      expect.objectContaining({ id: 'cert_u', expires_at: null, days_until_expiry: null }),
    ]);
  });

  it('say the tracking issue: its number and what was done', () => {
    expect(statusOutputs(of([cert('cert_a', 20, true)]), { action: 'opened', number: 12 })).toMatchObject({
      'issue-number': '12',
      'issue-action': 'opened',
    });
  });

  it('describe the certificate giving the shortest coverage, and list every watched certificate as JSON', () => {
    const outputs = statusOutputs(of([cert('cert_a', 20.5, true), cert('cert_b', 100, false, null)]));
    expect(outputs).toEqual({
      'renewal-due': 'true',
      'certificate-id': 'cert_a',
      name: 'corp|ca',
      'expires-at': String(T + 20.5 * DAY),
      'expires-at-iso': '2026-12-21T12:00:00Z',
      'days-until-expiry': '20',
      certificates: expect.any(String),
      count: '2',
      'issue-number': '',
      'issue-action': 'none',
    });
    expect(JSON.parse(outputs.certificates)).toEqual([
      {
        id: 'cert_a',
        name: 'corp|ca',
        created_at: T - 10 * DAY,
        valid_at: T - 10 * DAY,
        expires_at: T + 20.5 * DAY,
        days_until_expiry: 20,
        active: ['organization'],
      },
      {
        id: 'cert_b',
        name: null,
        created_at: T - 10 * DAY,
        valid_at: T - 10 * DAY,
        expires_at: T + 100 * DAY,
        days_until_expiry: 100,
        active: [],
      },
    ]);
  });
});

describe('status headline and summary', () => {
  it('says why, in each case', () => {
    expect(statusHeadline(of([cert('cert_a', 100, true)]), settings)).toBe(
      '✅ No renewal due: the shortest coverage, the organization\'s coverage, by cert_a ("corp|ca"), ends on 2027-03-11T00:00:00Z (100 days left), after renew-within-days (30).',
    );
    expect(statusHeadline(of([cert('cert_a', 20, true)]), settings)).toMatch(
      /^🔔 Renewal due: .* \(20 days left\), within renew-within-days \(30\)\.$/,
    );
    expect(statusHeadline(of([cert('cert_a', 3, true)]), settings)).toMatch(
      /^❌ Renewal overdue: .* ends on .* \(3 days left\), within fail-within-days \(7\)\.$/,
    );
    expect(statusHeadline(of([cert('cert_a', -2.5, true)]), settings)).toMatch(
      /^❌ Renewal overdue: .* ended on .* \(ended 2 days ago\), within fail-within-days \(7\)\.$/,
    );
    expect(statusHeadline(of([cert('cert_a', 3, false)]), settings)).toBe(
      '➖ Nothing watched: no watched certificate is active in any watched scope.',
    );
    const undated = { ...cert('cert_u', 0, true), expiresAt: null as unknown as number };
    expect(statusHeadline(of([undated]), settings)).toBe(
      '❔ Coverage unknown: the API gives no expiry for the watched certificates active in the organization, so whether renewal is due cannot be told.',
    );
  });

  it('gives time left under a day in hours, and under an hour in minutes', () => {
    expect(statusHeadline(of([cert('cert_a', 60 / DAY, true)]), settings)).toMatch(/\(1 minute left\), within fail-within-days/);
    expect(statusHeadline(of([cert('cert_a', 5 / 24, true)]), settings)).toMatch(/\(5 hours left\)/);
    expect(statusHeadline(of([cert('cert_a', -90 / (24 * 60), true)]), settings)).toMatch(/\(ended 1 hour ago\)/);
  });

  it('the summary shows no date it does not know: no 1970, a dash instead', () => {
    const undated = { ...cert('cert_u', 0, true), expiresAt: null as unknown as number };
    const md = renderStatusSummary(of([undated]), settings, undefined);
    expect(md).not.toMatch(/1970/);
    expect(md).toContain('| corp\\|ca | `cert_u` | — | organization |');
    expect(md).toContain('| organization | cert_u | — | ❔ expiry not given by the API |');
  });

  it('counts the other scopes in the same state', () => {
    const a = assess(
      [cert('cert_a', 20, true), cert('cert_b', 25, false)],
      [
        ['proj_b', [cert('cert_b', 25, true)]],
        ['proj_c', [cert('cert_b', 25, true)]],
      ],
      { ...settings, now: NOW },
    );
    expect(statusHeadline(a, settings)).toMatch(/within renew-within-days \(30\)\. 2 more scopes too\.$/);
  });

  it('the summary has the certificates, the scopes with their coverage, and the count against the cap, safe for Markdown', () => {
    const md = renderStatusSummary(of([cert('cert_a', 20, true), cert('cert_b', 400, false, '<b>x</b>')]), settings, undefined);
    expect(md).toContain('| corp\\|ca | `cert_a` | 2026-12-21T00:00:00Z (20 days left) | organization |');
    expect(md).toContain('| &lt;b&gt;x&lt;/b&gt; | `cert_b` | 2028-01-05T00:00:00Z (400 days left) | — |');
    expect(md).toContain('| organization | cert_a | 2026-12-21T00:00:00Z (20 days left) | 🔔 renewal due |');
    expect(md).toContain('The organization holds 2 of the 50 certificates OpenAI allows.');
    expect(md).not.toContain('Tracking issue');
  });

  it('names the tracking issue and what the run did with it', () => {
    const md = renderStatusSummary(of([cert('cert_a', 20, true)]), settings, undefined, { action: 'updated', number: 12 });
    expect(md).toContain('Tracking issue: #12 (updated).');
  });

  it('a run cancelled while writing the tracking issue says the issue is not confirmed, and no number', () => {
    const md = renderStatusSummary(of([cert('cert_a', 20, true)]), settings, 'The run was cancelled (SIGINT).', CANCELLED_ISSUE);
    expect(md).toContain('❌ Failed: The run was cancelled (SIGINT).');
    expect(md).toMatch(/🔔 Renewal due/);
    expect(md).toContain(
      'Tracking issue: not confirmed, because the run was cancelled while updating it: it may or may not have been updated; the next scheduled run will reconcile it.',
    );
    expect(md).not.toMatch(/Tracking issue: #/);
  });

  it('a failure before anything was assessed is said, and nothing else', () => {
    expect(renderStatusSummary(undefined, undefined, 'the admin key was rejected')).toBe(
      '## OpenAI mTLS certificates: renewal status\n\n❌ Failed: the admin key was rejected\n',
    );
    expect(renderStatusSummary(undefined, undefined, 'No certificate named "<b>x|y</b>"')).toContain(
      '❌ Failed: No certificate named "&lt;b&gt;x\\|y&lt;/b&gt;"',
    );
  });
});
