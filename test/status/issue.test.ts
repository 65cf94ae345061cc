import { RequestError } from '@octokit/request-error';
import { describe, expect, it } from 'vitest';
import type { ListedCertificate } from '../../src/api/reader.ts';
import { assess } from '../../src/status/coverage.ts';
import {
  explainGitHubError,
  fromFork,
  issueMarker,
  issueNeed,
  issueTitle,
  renderClosingComment,
  renderIssueBody,
  runLinks,
  type IssueSettings,
} from '../../src/status/issue.ts';

const NOW = new Date('2026-12-01T00:00:00Z');
const T = NOW.getTime() / 1000;
const DAY = 86_400;
const cert = (id: string, days: number | null, active: boolean, name: string | null = 'corp-ca'): ListedCertificate => ({
  id,
  name,
  createdAt: T - 10 * DAY,
  validAt: T - 10 * DAY,
  expiresAt: days === null ? (null as unknown as number) : T + days * DAY,
  active,
});
const settings: IssueSettings = {
  name: 'corp-ca',
  renewWithinDays: 30,
  failWithinDays: 7,
  openIssue: true,
  githubToken: 'ghs_x',
  issueLabel: 'openai-mtls-renewal',
  renewalWorkflow: undefined,
  timeoutMs: 5000,
};
const of = (organization: ListedCertificate[], projects: Array<[string, ListedCertificate[]]> = []) =>
  assess(organization, projects, { ...settings, now: NOW });
const links = { run: 'https://github.com/o/r/actions/runs/9', renewalWorkflow: undefined };

describe('the tracking issue: marker, title, what it needs', () => {
  it('has one marker per watched name, which no name can close early', () => {
    expect(issueMarker('corp-ca')).toBe('<!-- openai-mtls-status name=corp-ca -->');
    expect(issueMarker(undefined)).toBe('<!-- openai-mtls-status name=* -->');
    expect(issueMarker('a --> b')).toBe('<!-- openai-mtls-status name=a%20--%3E%20b -->');
    expect(issueMarker('corp')).not.toBe(issueMarker('corp-ca'));
  });

  it('names the watched name in the title, on one line', () => {
    expect(issueTitle('corp-ca')).toBe('OpenAI mTLS CA renewal due: corp-ca');
    expect(issueTitle(undefined)).toBe('OpenAI mTLS CA renewal due: every watched certificate');
    expect(issueTitle('a\nb\u007fc')).toBe('OpenAI mTLS CA renewal due: a b c');
  });

  it('is needed when renewal is due (failing too), healthy when all is dated and beyond, unknown otherwise', () => {
    expect(issueNeed(of([cert('cert_a', 20, true)]), false)).toBe('due');
    expect(issueNeed(of([cert('cert_a', 3, true)]), true)).toBe('due');
    expect(issueNeed(of([cert('cert_a', 400, true)]), false)).toBe('healthy');
    expect(issueNeed(of([cert('cert_a', 400, true)]), true)).toBe('unknown');
    expect(issueNeed(of([cert('cert_a', null, true)]), false)).toBe('unknown');
    expect(issueNeed(undefined, true)).toBe('unknown');
  });

  it('links this run and the renewal workflow from the runner variables', () => {
    const env = { GITHUB_SERVER_URL: 'https://ghe.example', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '42' };
    expect(runLinks({ renewalWorkflow: 'renew.yml' }, env)).toEqual({
      run: 'https://ghe.example/o/r/actions/runs/42',
      renewalWorkflow: 'https://ghe.example/o/r/actions/workflows/renew.yml',
    });
    expect(runLinks({ renewalWorkflow: undefined }, {})).toEqual({ run: undefined, renewalWorkflow: undefined });
  });

  it('skips a pull request from a fork, and only that', () => {
    const pr = (head: string, fork: boolean) => ({
      pull_request: { head: { repo: { full_name: head, fork } }, base: { repo: { full_name: 'o/r' } } },
    });
    expect(fromFork('pull_request', pr('them/r', true))).toBe(true);
    expect(fromFork('pull_request', pr('them/r', false))).toBe(true);
    expect(fromFork('pull_request', pr('o/r', false))).toBe(false);
    expect(fromFork('schedule', pr('them/r', true))).toBe(false);
    expect(fromFork('pull_request', {})).toBe(false);
  });
});

describe('the tracking issue: body and closing comment', () => {
  it('has the marker, the coverage of every watched scope with its dates, and the workflow to run', () => {
    const a = of(
      [cert('cert_a', 20, true), cert('cert_b', 400, false, 'corp-ca')],
      [
        ['proj_x', [cert('cert_b', 400, true)]],
        ['proj_y', []],
      ],
    );
    const body = renderIssueBody(a, settings, links);
    expect(body.split('\n')[0]).toBe('<!-- openai-mtls-status name=corp-ca -->');
    expect(body).toContain('## 🔔 OpenAI mTLS CA renewal due');
    expect(body).toContain('| the organization | cert_a ("corp-ca") | 2026-12-21T00:00:00Z | in 20 days | 🔔 renewal due |');
    expect(body).toContain('| project proj_x | cert_b ("corp-ca") | 2028-01-05T00:00:00Z | in 400 days | ✅ covered |');
    expect(body).toContain('| project proj_y | — | — | — | ➖ no watched certificate active |');
    expect(body).toContain(
      '**What to do**: Run your renewal workflow to upload and activate the next CA, then retire the one that expires.',
    );
    expect(body).toContain('Last checked: 2026-12-01T00:00:00Z by [this run](https://github.com/o/r/actions/runs/9).');
    const named = renderIssueBody(a, { ...settings, renewalWorkflow: 'renew.yml' }, { ...links, renewalWorkflow: 'https://x/wf' });
    expect(named).toContain('Run the renewal workflow [`renew.yml`](https://x/wf)');
  });

  it('says overdue when failing, and escapes names for Markdown', () => {
    const evil = '<img src=x>|x';
    const a = assess([cert('cert_a', -1, true, evil)], [], { ...settings, name: evil, now: NOW });
    const body = renderIssueBody(a, { ...settings, name: evil }, links);
    expect(body).toContain('## ❌ OpenAI mTLS CA renewal overdue');
    expect(body).toContain('cert_a ("&lt;img src=x&gt;\\|x")');
    expect(body).toContain('| ended 1 day ago |');
    expect(body).not.toContain('<img');
  });

  it('never shows a date it does not know', () => {
    const a = of([cert('cert_a', 20, true), cert('cert_u', null, false)], [['proj_u', [cert('cert_u', null, true)]]]);
    const body = renderIssueBody(a, settings, links);
    expect(body).toContain('| project proj_u | — | — | — | ❔ expiry not given by the API |');
    expect(body).not.toMatch(/1970/);
  });

  it('closes with the coverage that made it healthy', () => {
    expect(renderClosingComment(of([cert('cert_a', 400, true)]), settings, links)).toBe(
      '✅ Coverage is healthy again: no watched scope\'s coverage ends within 30 days (renew-within-days). The shortest coverage, the organization\'s by cert_a ("corp-ca"), ends on 2028-01-05T00:00:00Z (in 400 days). Closed by [this run](https://github.com/o/r/actions/runs/9).',
    );
  });
});

describe('explainGitHubError: a failure by its kind', () => {
  const request = { method: 'GET' as const, url: 'https://api.github.com/repos/o/r/issues', headers: {} };
  const answered = (status: number, message: string) =>
    new RequestError(message, status, { request, response: { status, url: request.url, headers: {}, data: { message } } });
  const api = 'https://api.github.com';
  const bound = { timeoutMs: 2000, timedOut: false, apiUrl: api };

  it('no answer in time: the time limit, never a permission hint', () => {
    // As @octokit/request reports a fetch aborted by AbortSignal.timeout: a RequestError 500 without a
    // response; the time limit boundRequests set has run out.
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const error = Object.assign(new RequestError(timeout.message, 500, { request }), { cause: timeout });
    const text = explainGitHubError(error, { ...bound, timedOut: true });
    expect(text).toBe(
      "GitHub's API (https://api.github.com) did not answer within 2 s (timeout-seconds). Check the network or proxy between the runner and GitHub, or raise timeout-seconds.",
    );
    expect(text).not.toMatch(/permission|issues: write|500/);
    expect(explainGitHubError(Object.assign(new Error('aborted'), { name: 'AbortError', status: 500 }), bound)).toMatch(/did not answer/);
  });

  it('no connection: the network, never a permission hint', () => {
    const refused = Object.assign(new RequestError('connect ECONNREFUSED 127.0.0.1:9', 500, { request }), {
      cause: new TypeError('fetch failed'),
    });
    const text = explainGitHubError(refused, bound);
    expect(text).toMatch(
      /^could not reach GitHub's API \(https:\/\/api\.github\.com\): connect ECONNREFUSED 127\.0\.0\.1:9\. Check the network/,
    );
    expect(text).not.toMatch(/permission|issues: write|HTTP \d/);
  });

  it.each([
    [401, 'Bad credentials', /rejected the token \(401\)/],
    [403, 'Resource not accessible by integration', /may not write issues here \(403\).*permissions: issues: write.*forks/],
    [403, 'API rate limit exceeded', /rate limit was hit \(403\)/],
    [404, 'Not Found', /not found \(404\)/],
    [410, 'Issues are disabled for this repo', /issues are disabled in this repository \(410\)/],
    [422, 'Validation Failed', /^GitHub answered HTTP 422: Validation Failed\.$/],
  ])('an answer %d (%s) is said by its status', (status, message, expected) => {
    expect(explainGitHubError(answered(status, message), bound)).toMatch(expected);
  });

  it('a 404 or 410 gets no permission hint', () => {
    expect(explainGitHubError(answered(404, 'Not Found'), bound)).not.toMatch(/issues: write/);
    expect(explainGitHubError(answered(410, 'Gone'), bound)).not.toMatch(/issues: write/);
  });
});
