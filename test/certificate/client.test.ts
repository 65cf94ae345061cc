import { describe, expect, it } from 'vitest';
import { assertClientCertificate, checkClientCertificate, type ClientCheckOptions } from '../../src/certificate/client.ts';
import { InputError } from '../../src/errors.ts';
import { CLIENT_AUTH, DAY, SERVER_AUTH, issue } from '../helpers/chain.ts';

const NOW = new Date();

// Made once for the file.
const root = await issue({ cn: 'Test Root CA', ca: true });
const intermediate = await issue({ cn: 'Test Intermediate CA', ca: true, issuer: root });
const leaf = await issue({ cn: 'ci-runner', issuer: intermediate, eku: [CLIENT_AUTH] });
const direct = await issue({ cn: 'direct-client', issuer: root, eku: [CLIENT_AUTH] });
const noEku = await issue({ cn: 'no-eku-client', issuer: root });
const expired = await issue({
  cn: 'expired-client',
  issuer: root,
  eku: [CLIENT_AUTH],
  notBefore: new Date(NOW.getTime() - 100 * DAY),
  notAfter: new Date(NOW.getTime() - DAY),
});
const future = await issue({ cn: 'future-client', issuer: root, eku: [CLIENT_AUTH], notBefore: new Date(NOW.getTime() + 2 * DAY) });
const caAsClient = await issue({ cn: 'Sub CA used as client', issuer: root, ca: true });
const serverOnly = await issue({ cn: 'server-only', issuer: root, eku: [SERVER_AUTH] });
const noAki = await issue({ cn: 'no-aki-client', issuer: root, eku: [CLIENT_AUTH], aki: false });
const otherRoot = await issue({ cn: 'Other Root CA', ca: true });
const stranger = await issue({ cn: 'stranger', issuer: otherRoot, eku: [CLIENT_AUTH] });
// Names the intermediate as its issuer (and has no key identifier to tell them apart) but is signed by another key.
const forged = await issue({ cn: 'forged', issuer: { ...otherRoot, name: intermediate.name }, eku: [CLIENT_AUTH], aki: false });

const names = { certificateInput: 'client-certificate', keyInput: 'client-key' };
const check = (certificate: string, key: string, options: Partial<ClientCheckOptions> = {}) =>
  checkClientCertificate({ certificate, key, ...names }, { now: NOW, ...options });
const kinds = (certificate: string, key: string, options: Partial<ClientCheckOptions> = {}) =>
  check(certificate, key, options).problems.map((p) => p.kind);

describe('checkClientCertificate: accepted', () => {
  it('a leaf with its intermediate, leaf first, chaining to the root being rotated in', () => {
    const result = check(leaf.pem + intermediate.pem, leaf.keyPem, { issuingCa: root.pem, requireAuthorityKeyId: true });
    expect(result.problems).toEqual([]);
    expect(result.chain.map((c) => c.subject)).toEqual(['CN=ci-runner, O=Example Test', 'CN=Test Intermediate CA, O=Example Test']);
  });

  it('a leaf issued directly by the CA, and one without Extended Key Usage (any purpose)', () => {
    expect(kinds(direct.pem, direct.keyPem, { issuingCa: root.pem, requireAuthorityKeyId: true })).toEqual([]);
    expect(kinds(noEku.pem, noEku.keyPem)).toEqual([]);
  });

  it('a chain that includes the CA itself at the end', () => {
    expect(kinds(leaf.pem + intermediate.pem + root.pem, leaf.keyPem, { issuingCa: root.pem })).toEqual([]);
  });

  it('CRLF line endings, as a secret pasted on Windows holds them', () => {
    expect(kinds((leaf.pem + intermediate.pem).replace(/\n/g, '\r\n'), leaf.keyPem)).toEqual([]);
  });
});

describe('checkClientCertificate: refused, naming the input', () => {
  it('a key of another certificate', () => {
    const [problem, ...rest] = check(direct.pem, stranger.keyPem).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ kind: 'key-mismatch', input: 'client-key' });
    expect(problem!.message).toMatch(/^client-key is not the private key of client-certificate \(the client certificate CN=direct-client/);
  });

  it('the key of the intermediate: the leaf is not first', () => {
    const problems = check(intermediate.pem + leaf.pem, leaf.keyPem).problems;
    expect(problems.map((p) => p.kind)).toEqual(['key-mismatch', 'leaf-is-ca', 'chain-order']);
    expect(problems[0]!.message).toMatch(/is the key of certificate 2 of client-certificate \(CN=ci-runner.*must come first/);
    expect(problems[2]!.message).toMatch(/not issued by certificate 2.*\(the certificates are in reverse order\)/);
  });

  it('a chain in the wrong order, leaf first but an unrelated certificate between', () => {
    const problems = check(leaf.pem + otherRoot.pem + intermediate.pem, leaf.keyPem).problems;
    expect(problems.map((p) => p.kind)).toEqual(['chain-order']);
    expect(problems[0]!.message).toMatch(
      /certificate 1 of client-certificate \(CN=ci-runner.*is not issued by certificate 2.*Other Root CA/,
    );
    expect(problems[0]!.message).not.toMatch(/reverse/);
  });

  it('a certificate that names the next one as issuer but is not signed by its key', () => {
    expect(kinds(forged.pem + intermediate.pem, forged.keyPem)).toEqual(['chain-order']);
    expect(kinds(forged.pem, forged.keyPem, { issuingCa: intermediate.pem })).toEqual(['issuing-ca']);
  });

  it('an expired client certificate, and one not valid yet', () => {
    const gone = check(expired.pem, expired.keyPem).problems;
    expect(gone.map((p) => p.kind)).toEqual(['expired']);
    expect(gone[0]!.message).toMatch(
      /^Certificate 1 of client-certificate \(CN=expired-client.*\) expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.$/,
    );
    expect(kinds(future.pem, future.keyPem)).toEqual(['not-yet-valid']);
    // The same certificate is fine at a time within its validity: `now` is what is judged.
    expect(kinds(expired.pem, expired.keyPem, { now: new Date(NOW.getTime() - 50 * DAY) })).toEqual([]);
  });

  it('a CA certificate used as the client certificate', () => {
    const [problem] = check(caAsClient.pem, caAsClient.keyPem).problems;
    expect(problem).toMatchObject({ kind: 'leaf-is-ca', input: 'client-certificate' });
    expect(problem!.message).toMatch(/is a CA certificate \(basicConstraints CA:TRUE\), not a client certificate/);
  });

  it('a certificate for TLS servers only (Extended Key Usage serverAuth)', () => {
    const [problem] = check(serverOnly.pem, serverOnly.keyPem).problems;
    expect(problem).toMatchObject({ kind: 'extended-key-usage', input: 'client-certificate' });
    expect(problem!.message).toMatch(/not meant for TLS client authentication: its Extended Key Usage is serverAuth, without clientAuth/);
    expect(problem!.hint).toMatch(/extendedKeyUsage=clientAuth/);
  });

  it('no Authority Key Identifier: refused only where it is required (the canary)', () => {
    expect(kinds(noAki.pem, noAki.keyPem)).toEqual([]);
    expect(kinds(noAki.pem, noAki.keyPem, { requireAuthorityKeyId: true })).toEqual(['authority-key-identifier']);
  });

  it('a chain that does not reach the CA being rotated in', () => {
    const [problem] = check(stranger.pem, stranger.keyPem, { issuingCa: root.pem }).problems;
    expect(problem).toMatchObject({ kind: 'issuing-ca', input: 'client-certificate' });
    expect(problem!.message).toMatch(/does not chain to the CA certificate being rotated in \(CN=Test Root CA.*issued by CN=Other Root CA/);
    // The leaf alone, without its intermediate, does not reach the root either.
    expect(kinds(leaf.pem, leaf.keyPem, { issuingCa: root.pem })).toEqual(['issuing-ca']);
  });

  it('a private key in the certificate input is refused and not quoted', () => {
    const result = check(direct.pem + direct.keyPem, direct.keyPem);
    expect(result.problems.map((p) => p.kind)).toEqual(['private-key-in-certificate']);
    const body = direct.keyPem.split('\n')[1]!;
    expect(JSON.stringify(result)).not.toContain(body);
  });

  it('a key that is not a key, and a certificate input that is not PEM', () => {
    const bogus =
      '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0IHRoYXQgbG9va3MgbGlrZSBiYXNlNjQ=\n-----END PRIVATE KEY-----\n';
    const unreadable = check(direct.pem, bogus).problems;
    expect(unreadable.map((p) => p.kind)).toEqual(['key-unreadable']);
    expect(unreadable[0]!.message).toMatch(
      /^client-certificate or client-key could not be read: client-key is not an unencrypted PEM private key/,
    );
    expect(JSON.stringify(unreadable)).not.toContain('bm90IGEga2V5');
    expect(kinds(Buffer.from(direct.pem).toString('base64'), direct.keyPem)).toEqual(['decoding']);
    expect(kinds('', direct.keyPem)).toEqual(['decoding']);
  });
});

describe('assertClientCertificate', () => {
  it('throws an InputError titled by the input, saying nothing was sent, without the key', () => {
    let error: unknown;
    try {
      assertClientCertificate({ certificate: direct.pem, key: stranger.keyPem, ...names }, { now: NOW });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    const inputError = error as InputError;
    expect(inputError.title).toBe('input client-key');
    expect(inputError.message).toMatch(/Nothing was sent\.$/);
    expect(inputError.hint).toMatch(/openssl pkey -in client.key -pubout/);
    for (const line of stranger.keyPem.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----')))
      expect(inputError.annotation).not.toContain(line);
  });

  it('returns the chain when there is nothing to say', () => {
    expect(assertClientCertificate({ certificate: leaf.pem + intermediate.pem, key: leaf.keyPem, ...names }, { now: NOW })).toHaveLength(2);
  });
});
