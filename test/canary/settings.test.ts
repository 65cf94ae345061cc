import { describe, expect, it, vi } from 'vitest';
import { checkCanaryChain, readCanary } from '../../src/canary/settings.ts';
import { inputErrorOf, reader } from '../helpers/settings.ts';
import { makeCa, makeLeaf } from '../helpers/certs.ts';

// Made once for the file, with openssl.
const newCa = makeCa({ cn: 'New mTLS CA' });
const client = makeLeaf(newCa, 'canary-runner');
const otherCa = makeCa({ cn: 'Old mTLS CA' });
const stranger = makeLeaf(otherCa, 'old-runner');
/** Its key is masked by one test only (the masker registers each value once per process). */
const maskedOnce = makeLeaf(otherCa, 'mask-runner');
/** A client certificate without an Authority Key Identifier (self-issued, CA:FALSE). */
const bare = makeCa({
  cn: 'no-aki',
  basicConstraints: 'critical,CA:FALSE',
  keyUsage: 'critical,digitalSignature',
  authorityKeyIdentifier: null,
});

const CANARY_KEY = 'sk-proj-canary-settings-test-0001';
const full = {
  'canary-project': 'proj_canary1',
  'canary-client-certificate': client.pem,
  'canary-client-key': client.keyPem,
  'canary-api-key': CANARY_KEY,
};

/** readCanary with the runner's add-mask lines caught, so the test log stays clean and they can be checked. */
function read(values: Record<string, string>, now = new Date()) {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return readCanary(reader(values), now);
  } finally {
    write.mockRestore();
  }
}
const failure = (values: Record<string, string>) => inputErrorOf(() => read(values));

describe('readCanary', () => {
  it('no canary input: no canary', () => {
    expect(read({ 'activate-projects': 'proj_abc' })).toBeUndefined();
  });

  it('every canary input: the canary, with the default timeout of 120 s and the chain read', () => {
    const canary = read(full);
    expect(canary).toMatchObject({
      projectId: 'proj_canary1',
      apiKey: CANARY_KEY,
      clientCertificate: client.pem,
      clientKey: client.keyPem,
      timeoutMs: 120_000,
    });
    expect(canary!.chain.map((c) => c.subject)).toEqual(['CN=canary-runner']);
    expect(read({ ...full, 'canary-timeout-seconds': '600' })!.timeoutMs).toBe(600_000);
  });

  it('some canary inputs but not all: an InputError naming the first one missing, and what is set', () => {
    const error = failure({ 'canary-project': full['canary-project'], 'canary-client-certificate': full['canary-client-certificate'] });
    expect(error.title).toBe('input canary-client-key');
    expect(error.message).toBe(
      'A canary needs canary-project, canary-client-certificate, canary-client-key, canary-api-key together: canary-project, canary-client-certificate are set, but canary-client-key, canary-api-key are not.',
    );
    expect(failure({ 'canary-api-key': CANARY_KEY }).title).toBe('input canary-project');
    // The timeout alone counts as a canary input set: it would do nothing.
    expect(failure({ 'canary-timeout-seconds': '60' }).message).toMatch(/canary-timeout-seconds is set, but canary-project/);
  });

  it('canary-project: one project id', () => {
    expect(failure({ ...full, 'canary-project': 'proj_a, proj_b' }).message).toBe('canary-project must be one project id, not 2.');
    expect(failure({ ...full, 'canary-project': 'project-a' }).title).toBe('input canary-project');
  });

  it('canary-api-key: a project key, one line', () => {
    expect(failure({ ...full, 'canary-api-key': 'sk-admin-not-this-one' }).message).toMatch(/holds an Admin API key/);
    expect(failure({ ...full, 'canary-api-key': 'sk-proj-a sk-proj-b' }).title).toBe('input canary-api-key');
  });

  it('canary-timeout-seconds: a whole number from 1 to 1800', () => {
    for (const bad of ['0', '1801', '2.5', 'soon'])
      expect(failure({ ...full, 'canary-timeout-seconds': bad }).title).toBe('input canary-timeout-seconds');
    expect(read({ ...full, 'canary-timeout-seconds': '1800' })!.timeoutMs).toBe(1_800_000);
  });

  it('the canary certificate is checked locally, naming the canary inputs', () => {
    const mismatch = failure({ ...full, 'canary-client-key': stranger.keyPem });
    expect(mismatch.title).toBe('input canary-client-key');
    expect(mismatch.message).toMatch(/^canary-client-key is not the private key of canary-client-certificate/);
    expect(failure({ ...full, 'canary-client-certificate': newCa.pem, 'canary-client-key': newCa.keyPem }).message).toMatch(
      /is a CA certificate/,
    );
    // Judged at `now`: after the client certificate's end it is refused.
    expect(inputErrorOf(() => read(full, new Date(client.notAfter.getTime() + 1000))).message).toMatch(/expired on/);
  });

  it('requires an Authority Key Identifier on the canary certificate', () => {
    const error = failure({ ...full, 'canary-client-certificate': bare.pem, 'canary-client-key': bare.keyPem });
    expect(error.title).toBe('input canary-client-certificate');
    expect(error.message).toMatch(/has no Authority Key Identifier/);
  });

  it('masks the canary API key and the client key, also when the inputs are refused', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const apiKey = 'sk-proj-mask-me-canary-0002';
      expect(() => readCanary(reader({ 'canary-api-key': apiKey, 'canary-client-key': maskedOnce.keyPem }))).toThrow();
      const masked = write.mock.calls.map(([chunk]) => String(chunk).trim()).filter((line) => line.startsWith('::add-mask::'));
      expect(masked).toContain(`::add-mask::${apiKey}`);
      for (const line of maskedOnce.keyPem.split('\n').filter((l) => l.length >= 8 && !l.startsWith('-----')))
        expect(masked).toContain(`::add-mask::${line}`);
    } finally {
      write.mockRestore();
    }
  });
});

describe('checkCanaryChain', () => {
  it('passes for a canary certificate issued by the CA being rotated in', () => {
    expect(() => checkCanaryChain(read(full)!, newCa.pem, new Date())).not.toThrow();
    expect(() => checkCanaryChain(read(full)!, newCa.der, new Date())).not.toThrow();
  });

  it('refuses one issued by another CA, naming canary-client-certificate', () => {
    const canary = read({ ...full, 'canary-client-certificate': stranger.pem, 'canary-client-key': stranger.keyPem })!;
    const error = inputErrorOf(() => checkCanaryChain(canary, newCa.pem, new Date()));
    expect(error.title).toBe('input canary-client-certificate');
    expect(error.message).toMatch(/does not chain to the CA certificate being rotated in \(CN=New mTLS CA.*issued by CN=Old mTLS CA/);
    expect(error.message).toMatch(/Nothing was sent\./);
  });
});
