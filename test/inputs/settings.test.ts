import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readSettings } from '../../src/inputs/settings.js';
import { inputErrorOf, reader } from '../helpers/settings.ts';

const base = { 'admin-api-key': 'sk-admin-abc', certificate: '-----BEGIN CERTIFICATE-----' };
const fail = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}): InputError =>
  inputErrorOf(() => readSettings(reader(values), env));

describe('readSettings', () => {
  it('applies the documented defaults', () => {
    const s = readSettings(reader(base), {});
    expect(s).toMatchObject({
      baseURL: 'https://api.openai.com/v1',
      mtlsBaseURL: 'https://mtls.api.openai.com/v1',
      maxRetries: 3,
      timeoutMs: 60_000,
      dryRun: false,
      strict: true,
      minValidityDays: 1,
      warnValidityDays: 30,
      reuseExisting: true,
      activateOrganization: false,
      activateProjects: [],
      name: undefined,
    });
  });

  it('falls back to OPENAI_ADMIN_KEY, the input winning; never to OPENAI_BASE_URL', () => {
    const env = { OPENAI_ADMIN_KEY: 'sk-admin-env', OPENAI_BASE_URL: 'https://gateway.example.test/v1/' };
    expect(readSettings(reader({ certificate: 'x' }), env)).toMatchObject({
      adminApiKey: 'sk-admin-env',
      baseURL: 'https://api.openai.com/v1',
    });
    expect(readSettings(reader({ ...base, 'base-url': 'https://proxy.example/v1' }), env)).toMatchObject({
      adminApiKey: 'sk-admin-abc',
      baseURL: 'https://proxy.example/v1',
    });
  });

  it('resolves certificate-file against GITHUB_WORKSPACE', () => {
    const s = readSettings(reader({ 'admin-api-key': 'k', 'certificate-file': 'pki/ca.pem' }), { GITHUB_WORKSPACE: '/ws' });
    expect(s.source).toEqual({ kind: 'file', path: path.resolve('/ws', 'pki/ca.pem'), given: 'pki/ca.pem' });
  });

  it('splits activate-projects on commas and new lines, dropping blanks and repeats', () => {
    const s = readSettings(reader({ ...base, 'activate-projects': 'proj_a, proj_b\n\nproj_c,proj_a' }), {});
    expect(s.activateProjects).toEqual(['proj_a', 'proj_b', 'proj_c']);
  });

  it('needs exactly one certificate source (preflight rule 1, `source`)', () => {
    expect(() => readSettings(reader({ 'admin-api-key': 'k' }), {})).toThrow(
      expect.objectContaining({ title: 'source', message: expect.stringMatching(/No certificate given/) }),
    );
    expect(() => readSettings(reader({ ...base, 'certificate-id': 'cert_abc' }), {})).toThrow(
      expect.objectContaining({ title: 'source', message: expect.stringMatching(/certificate and certificate-id are set/) }),
    );
  });

  it('needs an admin key unless it is a dry run, and refuses project keys', () => {
    expect(fail({ certificate: 'x' }).title).toBe('input admin-api-key');
    expect(readSettings(reader({ certificate: 'x', 'dry-run': 'true' }), {}).adminApiKey).toBe('');
    expect(fail({ ...base, 'admin-api-key': 'sk-proj-abc' }).message).toMatch(/project or service-account key/);
  });

  it.each([
    ['max-retries', '-1'],
    ['max-retries', '1.5'],
    ['max-retries', '11'],
    ['timeout-seconds', '0'],
    ['timeout-seconds', 'soon'],
    ['dry-run', 'yes'],
    ['strict', 'off'],
    ['base-url', 'not a url'],
    ['base-url', 'ftp://example.com'],
    ['base-url', 'https://user:pw@example.com/v1'],
    ['base-url', 'http://api.openai.com/v1'],
    ['base-url', 'http://10.0.0.7:8080/v1'],
    ['mtls-base-url', 'http://mtls.api.openai.com/v1'],
    ['mtls-base-url', 'http://127.0.0.1:8443/v1'],
    ['activate-projects', 'proj_ok, project-2'],
    ['certificate-id', 'abc'],
    ['name', 'two\nlines'],
  ])('refuses %s = %j with a message naming the input', (input, value) => {
    const values: Record<string, string> = { ...base, [input]: value };
    if (input === 'certificate-id') delete values.certificate;
    const error = fail(values);
    expect(error.title).toBe(`input ${input}`);
    expect(error.hint).toBeTruthy();
  });

  it('retire-previous needs a name and a scope', () => {
    expect(fail({ ...base, 'retire-previous': 'true', 'activate-organization': 'true' }).message).toMatch(/needs a name/);
    expect(fail({ ...base, name: 'n', 'retire-previous': 'true' }).message).toMatch(/no scope is set/);
    expect(
      readSettings(
        reader({ 'admin-api-key': 'k', 'certificate-id': 'cert_a', 'retire-previous': 'true', 'activate-projects': 'proj_a' }),
        {},
      ).retirePrevious,
    ).toBe(true);
  });

  it('client-certificate and client-key go together', () => {
    expect(fail({ ...base, 'client-certificate': 'pem' }).title).toBe('input client-key');
    expect(fail({ ...base, 'client-key': 'pem' }).title).toBe('input client-certificate');
  });
});

describe('readSettings: every input is read under its own name', () => {
  it('each input changes its own setting', () => {
    const s = readSettings(
      reader({
        ...base,
        'min-validity-days': '7',
        'warn-validity-days': '60',
        'activate-organization': 'true',
        'reuse-existing': 'false',
        'delete-expired': 'true',
        'github-token': 'ghs_token',
        'comment-on-pr': 'true',
        'dry-run': 'true',
        strict: 'false',
      }),
      {},
    );
    expect(s).toMatchObject({
      minValidityDays: 7,
      warnValidityDays: 60,
      activateOrganization: true,
      reuseExisting: false,
      deleteExpired: true,
      githubToken: 'ghs_token',
      commentOnPr: true,
      dryRun: true,
      strict: false,
    });
    expect(readSettings(reader(base), {})).toMatchObject({ deleteExpired: false, commentOnPr: false, githubToken: '' });
  });

  it('min-validity-days goes from 1 to 3650 days (OpenAI refuses less than a day), warn-validity-days from 0', () => {
    for (const input of ['min-validity-days', 'warn-validity-days']) {
      expect(fail({ ...base, [input]: '3651' }).title).toBe(`input ${input}`);
      expect(fail({ ...base, [input]: '-1' }).title).toBe(`input ${input}`);
    }
    expect(fail({ ...base, 'min-validity-days': '0' }).title).toBe('input min-validity-days');
    expect(readSettings(reader({ ...base, 'min-validity-days': '3650', 'warn-validity-days': '0' }), {})).toMatchObject({
      minValidityDays: 3650,
      warnValidityDays: 0,
    });
  });

  it('the certificate input is the inline source', () => {
    expect(readSettings(reader({ 'admin-api-key': 'k', certificate: 'PEM TEXT' }), {}).source).toEqual({
      kind: 'inline',
      text: 'PEM TEXT',
    });
  });

  it('certificate-id must be a whole cert_ id', () => {
    const id = (value: string) => reader({ 'admin-api-key': 'k', 'certificate-id': value });
    expect(readSettings(id('cert_Ab12'), {}).source).toEqual({ kind: 'id', id: 'cert_Ab12' });
    for (const value of ['xcert_abc', 'cert_abc-d', 'cert_', 'cert_a b']) {
      expect(() => readSettings(id(value), {})).toThrow(expect.objectContaining({ title: 'input certificate-id' }));
    }
  });

  it('the errors of retire-previous and comment-on-pr are titled by the input to fix', () => {
    expect(fail({ ...base, 'retire-previous': 'true', 'activate-organization': 'true' }).title).toBe('input retire-previous');
    expect(fail({ ...base, name: 'n', 'retire-previous': 'true' }).title).toBe('input retire-previous');
    expect(fail({ ...base, 'comment-on-pr': 'true' }).title).toBe('input github-token');
    expect(readSettings(reader({ ...base, 'comment-on-pr': 'true', 'github-token': 't' }), {}).commentOnPr).toBe(true);
  });

  it('with no certificate source, the hint also says to check the secret; with two, it does not', () => {
    const none = (() => {
      try {
        readSettings(reader({ 'admin-api-key': 'k' }), {});
      } catch (error) {
        return error as InputError;
      }
      throw new Error('expected an error');
    })();
    expect(none.hint).toMatch(/check that the secret exists/);
    const two = (() => {
      try {
        readSettings(reader({ ...base, 'certificate-file': 'ca.pem' }), {});
      } catch (error) {
        return error as InputError;
      }
      throw new Error('expected an error');
    })();
    expect(two.hint).not.toMatch(/check that the secret exists/);
    expect(two.message).toBe('Only one certificate source may be set, but certificate and certificate-file are set.');
  });
});
