import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { readStatusSettings } from '../../src/status/settings.ts';
import { inputErrorOf, reader } from '../helpers/settings.ts';

const key = { 'admin-api-key': 'sk-admin-abc' };
const failure = (values: Record<string, string>): InputError => inputErrorOf(() => readStatusSettings(reader({ ...key, ...values }), {}));

describe('readStatusSettings', () => {
  it('applies the documented defaults, with the connection read as the main action reads it', () => {
    expect(readStatusSettings(reader(key), {})).toMatchObject({
      adminApiKey: 'sk-admin-abc',
      baseURL: 'https://api.openai.com/v1',
      name: undefined,
      projects: [],
      renewWithinDays: 30,
      failWithinDays: 7,
      maxRetries: 3,
      timeoutMs: 60_000,
    });
  });

  it('reads the tracking issue inputs: off by default, a label by default, the renewal workflow by file name', () => {
    expect(readStatusSettings(reader(key), {})).toMatchObject({
      openIssue: false,
      githubToken: '',
      issueLabel: 'openai-mtls-renewal',
      renewalWorkflow: undefined,
    });
    const on = { ...key, 'open-issue': 'true', 'github-token': 'ghs_x', 'issue-label': 'pki', 'renewal-workflow': 'renew-mtls-ca.yml' };
    expect(readStatusSettings(reader(on), {})).toMatchObject({
      openIssue: true,
      githubToken: 'ghs_x',
      issueLabel: 'pki',
      renewalWorkflow: 'renew-mtls-ca.yml',
    });
    expect(readStatusSettings(reader({ ...key, name: 'x'.repeat(200) }), {}).name).toHaveLength(200);
  });

  it('reads projects as ids (commas or new lines) or all', () => {
    expect(readStatusSettings(reader({ ...key, projects: 'proj_a,\nproj_b proj_a' }), {}).projects).toEqual(['proj_a', 'proj_b']);
    for (const all of ['all', 'ALL', ' all ']) expect(readStatusSettings(reader({ ...key, projects: all }), {}).projects).toBe('all');
  });

  it('accepts fail-within-days equal to renew-within-days, and 0 for both', () => {
    expect(readStatusSettings(reader({ ...key, 'renew-within-days': '10', 'fail-within-days': '10' }), {})).toMatchObject({
      renewWithinDays: 10,
      failWithinDays: 10,
    });
    expect(readStatusSettings(reader({ ...key, 'renew-within-days': '0', 'fail-within-days': '0' }), {})).toMatchObject({
      renewWithinDays: 0,
      failWithinDays: 0,
    });
  });

  it.each([
    [{ 'admin-api-key': '' }, 'admin-api-key'],
    [{ 'admin-api-key': 'sk-svcacct-abc' }, 'admin-api-key'],
    [{ projects: 'proj_ok,all' }, 'projects'],
    [{ projects: 'everything' }, 'projects'],
    [{ 'renew-within-days': '-1' }, 'renew-within-days'],
    [{ 'renew-within-days': 'thirty' }, 'renew-within-days'],
    [{ 'fail-within-days': '3651' }, 'fail-within-days'],
    [{ 'renew-within-days': '5', 'fail-within-days': '6' }, 'fail-within-days'],
    [{ name: 'two\nlines' }, 'name'],
    [{ 'mtls-base-url': 'http://127.0.0.1/v1' }, 'mtls-base-url'],
    [{ name: 'x'.repeat(201) }, 'name'],
    [{ 'open-issue': 'yes' }, 'open-issue'],
    [{ 'open-issue': 'true', 'github-token': '' }, 'github-token'],
    [{ 'issue-label': 'a,b' }, 'issue-label'],
    [{ 'issue-label': 'x'.repeat(51) }, 'issue-label'],
    [{ 'renewal-workflow': '../renew.yml' }, 'renewal-workflow'],
    [{ 'renewal-workflow': 'renew' }, 'renewal-workflow'],
  ])('refuses %j, naming the input', (values, input) => {
    const error = failure(values);
    expect(error.title).toBe(`input ${input}`);
    expect(error.hint).toBeTruthy();
  });
});
