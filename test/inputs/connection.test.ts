import { describe, expect, it, vi } from 'vitest';
import { ActionError, InputError } from '../../src/errors.js';
import { connectionAdvisories, isLoopback, maskSecrets, readConnection } from '../../src/inputs/connection.js';
import { inputErrorOf, reader } from '../helpers/settings.ts';

const key = { 'admin-api-key': 'sk-admin-abc' };
const read = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => readConnection(reader({ ...key, ...values }), env);
const failure = (values: Record<string, string>): InputError => inputErrorOf(() => read(values));

describe('readConnection: the admin key goes only where the inputs say', () => {
  it('an empty base-url means https://api.openai.com/v1, whatever OPENAI_BASE_URL says', () => {
    expect(read({}, { OPENAI_BASE_URL: 'https://llm-gateway.example.test/v1' }).baseURL).toBe('https://api.openai.com/v1');
  });

  it('refuses plain http to any host that is not loopback, before anything is sent', () => {
    for (const url of [
      'http://api.openai.com/v1',
      'http://192.168.1.10/v1',
      'http://localhost.example.test/v1',
      'http://127.0.0.1.nip.io/v1',
    ]) {
      const error = failure({ 'base-url': url });
      expect(error.title).toBe('input base-url');
      expect(error.message).toMatch(/plain http to .*: the admin key would cross the network unencrypted\. Nothing was sent\./);
      expect(error.hint).toMatch(/Use https/);
    }
  });

  it('accepts plain http to a loopback host (a local emulator)', () => {
    for (const url of ['http://127.0.0.1:8080/v1', 'http://127.3.4.5/v1', 'http://localhost:3000/v1', 'http://[::1]:9/v1'])
      expect(read({ 'base-url': url }).baseURL).toBe(url);
  });

  it('refuses http for mtls-base-url, loopback too: the client certificate needs TLS', () => {
    for (const url of ['http://mtls.api.openai.com/v1', 'http://127.0.0.1:8443/v1']) {
      const error = failure({ 'mtls-base-url': url });
      expect(error.title).toBe('input mtls-base-url');
      expect(error.message).toMatch(/must be https.*presented in the TLS handshake/);
    }
  });

  it('drops trailing slashes', () => {
    expect(read({ 'base-url': 'https://example.test/v1//' }).baseURL).toBe('https://example.test/v1');
  });
});

describe('connectionAdvisories', () => {
  it('says, as a notice, that OPENAI_BASE_URL is set and not used', () => {
    const connection = read({});
    expect(connectionAdvisories(connection, { OPENAI_BASE_URL: 'https://gateway.example.test/v1' })).toEqual([
      expect.objectContaining({
        level: 'notice',
        message: expect.stringMatching(/^OPENAI_BASE_URL is set in the environment and is not used/),
      }),
    ]);
    expect(connectionAdvisories(connection, {})).toEqual([]);
    expect(connectionAdvisories(connection, { OPENAI_BASE_URL: ' ' })).toEqual([]);
  });

  it('warns when base-url does not end in /v1', () => {
    for (const url of ['https://gateway.example.test', 'https://gateway.example.test/openai', 'https://gateway.example.test/v10']) {
      expect(connectionAdvisories(read({ 'base-url': url }), {})).toEqual([
        expect.objectContaining({ level: 'warning', message: expect.stringMatching(/does not end in \/v1/) }),
      ]);
    }
    expect(connectionAdvisories(read({ 'base-url': 'https://gateway.example.test/openai/v1/' }), {})).toEqual([]);
  });
});

describe('readConnection: limits and keys', () => {
  it('max-retries is a whole number from 0 to 10; timeout-seconds a number from 1 to 600, in ms', () => {
    expect(read({ 'max-retries': '10', 'timeout-seconds': '600' })).toMatchObject({ maxRetries: 10, timeoutMs: 600_000 });
    expect(read({ 'max-retries': '0', 'timeout-seconds': '1.5' })).toMatchObject({ maxRetries: 0, timeoutMs: 1500 });
    for (const [input, value] of [
      ['max-retries', '11'],
      ['max-retries', '2.5'],
      ['timeout-seconds', '601'],
      ['timeout-seconds', '0.5'],
    ] as const) {
      expect(failure({ [input]: value }).title).toBe(`input ${input}`);
    }
  });

  it('OPENAI_ADMIN_KEY is trimmed; a key with white space inside is refused', () => {
    expect(readConnection(reader({}), { OPENAI_ADMIN_KEY: '  sk-admin-env \n' }).adminApiKey).toBe('sk-admin-env');
    for (const bad of ['sk-admin-a b', 'sk-admin-a\nb', 'sk-admin-a\tb']) {
      const error = failure({ 'admin-api-key': bad });
      expect(error.title).toBe('input admin-api-key');
      expect(error.message).toBe('admin-api-key contains white space or several lines.');
    }
  });

  it('refuses project and service-account keys by their prefix only', () => {
    for (const bad of ['sk-proj-abc', 'sk-svcacct-abc', 'sk-None-abc'])
      expect(failure({ 'admin-api-key': bad }).title).toBe('input admin-api-key');
    expect(read({ 'admin-api-key': 'sk-admin-sk-proj-abc' }).adminApiKey).toBe('sk-admin-sk-proj-abc');
  });

  it('a loopback address is 127.x.y.z with one to three digits each, and nothing around it', () => {
    for (const url of ['http://127.10.200.30/v1', 'http://127.0.0.100/v1']) expect(read({ 'base-url': url }).baseURL).toBe(url);
    for (const url of ['http://127.0.0.1.example.test/v1', 'http://10.127.0.0.1.example.test/v1'])
      expect(failure({ 'base-url': url }).message).toMatch(/plain http to/);
  });

  it('isLoopback judges the host name alone, whatever its caller parsed: nothing may come before the 127', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    for (const host of ['x127.0.0.1', '10.127.0.0.1', 'evil.127.0.0.1']) expect(isLoopback(host), host).toBe(false);
  });

  it('refuses credentials in the URL, a user or a password alone too', () => {
    for (const url of ['https://user@example.test/v1', 'https://:secret@example.test/v1', 'https://user:secret@example.test/v1']) {
      expect(failure({ 'base-url': url }).message).toBe('base-url must not carry credentials. Nothing was sent.');
    }
  });

  it('the hint of a bad URL gives the default of that input as the example', () => {
    expect(failure({ 'base-url': 'not a url' }).hint).toBe('Use a full URL such as https://api.openai.com/v1.');
    expect(failure({ 'mtls-base-url': 'not a url' }).hint).toBe('Use a full URL such as https://mtls.api.openai.com/v1.');
    expect(failure({ 'base-url': 'ftp://example.test/v1' }).hint).toBe('Use a full URL such as https://api.openai.com/v1.');
    expect(failure({ 'mtls-base-url': 'ftp://example.test/v1' }).hint).toBe('Use a full URL such as https://mtls.api.openai.com/v1.');
  });
});

describe('maskSecrets', () => {
  it('registers the admin key (input and OPENAI_ADMIN_KEY), the client key and the other inputs named, before anything else', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const values: Record<string, string> = {
        'admin-api-key': 'sk-admin-mask-input-0001',
        'client-key': 'client-key-mask-0001',
        'github-token': 'ghs_mask_token_0001',
        'base-url': 'https://not-a-secret.example.test/v1',
      };
      maskSecrets(reader(values), { OPENAI_ADMIN_KEY: 'sk-admin-mask-env-0001' }, ['github-token']);
      const masked = write.mock.calls.map(([chunk]) => String(chunk).trim()).filter((line) => line.startsWith('::add-mask::'));
      expect(masked.sort()).toEqual(
        ['sk-admin-mask-input-0001', 'sk-admin-mask-env-0001', 'client-key-mask-0001', 'ghs_mask_token_0001']
          .map((s) => `::add-mask::${s}`)
          .sort(),
      );
      write.mockClear();
      maskSecrets(reader({}), {});
      expect(write.mock.calls.filter(([chunk]) => String(chunk).startsWith('::add-mask::'))).toEqual([]);
    } finally {
      write.mockRestore();
    }
  });
});

describe('maskSecrets: only the secrets', () => {
  it('with no other input named, registers the admin key and the client key only', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      maskSecrets((name) => `value-of-${name}-0002`, {});
      const masked = write.mock.calls.map(([chunk]) => String(chunk).trim()).filter((line) => line.startsWith('::add-mask::'));
      expect(masked.sort()).toEqual(['::add-mask::value-of-admin-api-key-0002', '::add-mask::value-of-client-key-0002']);
    } finally {
      write.mockRestore();
    }
  });
});

describe('connectionAdvisories: titles, and trailing slashes', () => {
  it('each advisory is titled by what it is about', () => {
    const connection = { ...read({}), baseURL: 'https://gateway.example.test/openai' };
    expect(connectionAdvisories(connection, { OPENAI_BASE_URL: 'https://gateway.example.test/v1' }).map((a) => [a.level, a.title])).toEqual(
      [
        ['notice', 'OPENAI_BASE_URL'],
        ['warning', 'input base-url'],
      ],
    );
  });

  it('a base URL ending in /v1 and slashes is not warned about', () => {
    expect(connectionAdvisories({ ...read({}), baseURL: 'https://gateway.example.test/v1//' }, {})).toEqual([]);
    expect(connectionAdvisories({ ...read({}), baseURL: 'https://gateway.example.test/v1/' }, {})).toEqual([]);
  });
});

describe('readConnection: a clean base-url, never printed whole', () => {
  it('refuses credentials, a query string or a fragment in base-url and mtls-base-url, and does not print them', () => {
    const cases: Array<[string, RegExp]> = [
      ['https://user:Pa55word-Secret@example.test/v1', /must not carry credentials/],
      ['https://@example.test/v1', /must not carry credentials/],
      ['https://example.test/v1?api_key=sk-admin-QueryToken0123456789', /must not carry a query string or a fragment/],
      ['https://example.test/v1?', /must not carry a query string or a fragment/],
      ['https://example.test/v1#token=Fragment0123456789', /must not carry a query string or a fragment/],
    ];
    for (const input of ['base-url', 'mtls-base-url'])
      for (const [url, says] of cases) {
        const error = failure({ [input]: url });
        expect(error.title, url).toBe(`input ${input}`);
        expect(error.message, url).toMatch(says);
        expect(error.message, url).toMatch(/Nothing was sent\./);
        for (const secret of ['Pa55word-Secret', 'QueryToken0123456789', 'Fragment0123456789', 'api_key'])
          expect(error.annotation, url).not.toContain(secret);
      }
  });

  it('shows the query string and the credentials as *** in the other refusals too', () => {
    expect(failure({ 'base-url': 'ftp://user:Pa55word-Secret@example.test/v1?t=QueryToken01' }).message).toBe(
      'base-url must be an https URL, not "ftp://***@example.test/v1?***".',
    );
    expect(failure({ 'base-url': 'https://user:Pa55word/Secret@example.test/v1' }).message).toBe(
      'base-url is not a URL: "https://***@example.test/v1".',
    );
    expect(failure({ 'base-url': 'not a url\n::error::forged' }).message).toBe('base-url is not a URL: "not a url\\n::error::forged".');
  });

  it('printableUrl keeps a clean URL as it is', async () => {
    const { printableUrl } = await import('../../src/inputs/connection.js');
    expect(printableUrl('https://api.openai.com/v1')).toBe('https://api.openai.com/v1');
    expect(printableUrl('http://127.0.0.1:8080/v1#x')).toBe('http://127.0.0.1:8080/v1#***');
  });
});

describe('readConnection: no admin key without TLS verification', () => {
  const off = { NODE_TLS_REJECT_UNAUTHORIZED: '0' };

  it('refuses NODE_TLS_REJECT_UNAUTHORIZED=0 when the key would go over https, naming it and NODE_EXTRA_CA_CERTS', () => {
    for (const values of [
      {} as Record<string, string>,
      { 'base-url': 'https://127.0.0.1:8443/v1' },
      { 'client-certificate': 'cert', 'client-key': 'key', 'base-url': 'http://127.0.0.1:1/v1' },
    ]) {
      let caught: unknown;
      try {
        read(values, off);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ActionError);
      const error = caught as ActionError;
      expect(error.title).toBe('NODE_TLS_REJECT_UNAUTHORIZED');
      expect(error.message).toMatch(/^NODE_TLS_REJECT_UNAUTHORIZED=0 is set .* Nothing was sent\.$/);
      expect(error.hint).toMatch(/NODE_EXTRA_CA_CERTS/);
    }
  });

  it('allows it for plain http to a loopback host (no TLS there, nothing leaves the machine), without a key, and for other values', () => {
    expect(read({ 'base-url': 'http://127.0.0.1:8080/v1' }, off).baseURL).toBe('http://127.0.0.1:8080/v1');
    expect(readConnection(reader({}), off, true).adminApiKey).toBe('');
    for (const value of ['1', '', 'false', ' 0'])
      expect(read({}, { NODE_TLS_REJECT_UNAUTHORIZED: value }).baseURL).toBe('https://api.openai.com/v1');
  });
});
