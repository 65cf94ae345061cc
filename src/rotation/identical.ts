import { X509Certificate } from 'node:crypto';
import { APIError } from 'openai';
import { ActionError } from '../errors.js';
import { decodeInput } from '../certificate/decode.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { seconds } from '../time.js';
import type { CertificateApi, ListedCertificate, StoredCertificate } from '../api/certificates.js';

/**
 * Finds a certificate of the organization with the same content, without downloading every PEM:
 * candidates are those whose validity equals the certificate's notBefore and notAfter (or whose list
 * entry does not say, as `certificate_details` fields are optional), and each is confirmed by its
 * content's SHA-256 fingerprint (`include[]=content`).
 */
export async function findIdentical(
  api: CertificateApi,
  certificate: CertificateInfo,
  listed: ListedCertificate[],
): Promise<StoredCertificate | undefined> {
  const validAt = seconds(certificate.notBefore);
  const expiresAt = seconds(certificate.notAfter);
  const matches = (listedValue: number | undefined, value: number): boolean => listedValue === undefined || listedValue === value;
  const candidates = listed.filter((c) => matches(c.validAt, validAt) && matches(c.expiresAt, expiresAt));
  for (const candidate of candidates) {
    let stored: StoredCertificate;
    try {
      stored = await api.retrieve(candidate.id, true);
    } catch (error) {
      // Deleted since it was listed: not this one.
      if (error instanceof ActionError && error.cause instanceof APIError && error.cause.status === 404) continue;
      throw error;
    }
    if (stored.content && fingerprintOf(stored.content) === certificate.fingerprint) return stored;
  }
  return undefined;
}

/**
 * The fingerprint of the certificate in an API `content` field. OpenAI's documentation shows that PEM on
 * one line (`-----BEGIN CERTIFICATE-----MIID...-----END CERTIFICATE-----`), which OpenSSL's PEM reader
 * refuses, so it goes through the same decoder as the user's input.
 */
function fingerprintOf(content: string): string | undefined {
  const block = decodeInput(content).blocks.find((b) => b.label === 'CERTIFICATE');
  if (!block) return undefined;
  try {
    return new X509Certificate(block.der).fingerprint256;
  } catch {
    return undefined;
  }
}
