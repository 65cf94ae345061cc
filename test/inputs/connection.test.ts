import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { connectionAdvisories, readConnection } from '../../src/inputs/connection.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';
const key = { 'admin-api-key': 'sk-admin-abc' };
const read = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => readConnection(reader({ ...key, ...values }), env);
const failure = (values: Record<string, string>): InputError => {
  try {
    read(values);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError');
};

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
