import { X509Certificate } from 'node:crypto';
import { APIError } from 'openai';
import type { CertificateReader, ListedCertificate, StoredCertificate } from '../api/reader.js';
import { decodeInput } from '../certificate/decode.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import { seconds } from '../time.js';

/**
 * Whether a listed certificate may be this one: the same validity dates, or dates the list does not give
 * (`certificate_details` fields are optional). Only these are worth reading the content of.
 */
export function mayBeIdentical(listed: ListedCertificate, certificate: CertificateInfo): boolean {
  const same = (listedValue: number | undefined, value: number): boolean => listedValue === undefined || listedValue === value;
  return same(listed.validAt, seconds(certificate.notBefore)) && same(listed.expiresAt, seconds(certificate.notAfter));
}

/**
 * Reads a candidate's content (`include[]=content`) and compares its SHA-256 fingerprint with the
 * certificate's. `gone` when it was deleted since it was listed. A content the API does not give, or
 * that does not decode, is an error, not a "no": nothing is decided on a guess.
 */
export async function compare(
  api: CertificateReader,
  candidate: ListedCertificate,
  certificate: CertificateInfo,
): Promise<StoredCertificate | 'different' | 'gone'> {
  let stored: StoredCertificate;
  try {
    stored = await api.retrieve(candidate.id, true);
  } catch (error) {
    if (error instanceof ActionError && error.cause instanceof APIError && error.cause.status === 404) return 'gone';
    throw error;
  }
  const fingerprint = fingerprintOf(stored.content);
  if (typeof fingerprint !== 'string') {
    throw new ActionError(
      `Could not tell whether ${candidate.id}${candidate.name ? ` ("${candidate.name}")` : ''} is this certificate: the API ${fingerprint.why}. Nothing was written, so as not to act on a guess.`,
      {
        title: 'api',
        hint: `Run the action again; if it persists, compare ${candidate.id} with fingerprint ${certificate.fingerprint} by hand (the dashboard, or GET /organization/certificates/${candidate.id}?include[]=content), and report the API's answer.`,
      },
    );
  }
  return fingerprint === certificate.fingerprint ? stored : 'different';
}

/**
 * The first certificate of `listed`, in its order, that is this one; undefined when none is. Only those
 * that may be identical (same validity dates) are read, one at a time.
 */
export async function findIdentical(
  api: CertificateReader,
  certificate: CertificateInfo,
  listed: ListedCertificate[],
): Promise<StoredCertificate | undefined> {
  for (const candidate of listed.filter((c) => mayBeIdentical(c, certificate))) {
    const result = await compare(api, candidate, certificate);
    if (typeof result === 'object') return result;
  }
  return undefined;
}

/**
 * The fingerprint of the certificate in an API `content` field, or why there is none. OpenAI's
 * documentation shows that PEM on one line (`-----BEGIN CERTIFICATE-----MIID...-----END CERTIFICATE-----`),
 * which OpenSSL's PEM reader refuses, so it goes through the same decoder as the user's input.
 */
function fingerprintOf(content: string | undefined): string | { why: string } {
  if (!content) return { why: 'returned no content for it' };
  const block = decodeInput(content).blocks.find((b) => b.label === 'CERTIFICATE');
  if (!block) return { why: 'returned a content that holds no certificate' };
  try {
    return new X509Certificate(block.der).fingerprint256;
  } catch {
    return { why: 'returned a content that does not parse as X.509' };
  }
}
