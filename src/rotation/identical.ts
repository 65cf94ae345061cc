import { X509Certificate } from 'node:crypto';
import { ApiError } from '../api/errors.js';
import type { CertificateReader, ListedCertificate, StoredCertificate } from '../api/reader.js';
import { decodeInput } from '../certificate/decode.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { ActionError } from '../errors.js';
import { certificateLabel } from '../wording.js';
import { localRecord } from './decide.js';

/**
 * Whether a listed certificate may be this one: the same validity dates, or dates the list does not give.
 * Only these are worth reading the content of; identity itself is decided by content, never by dates.
 */
export function mayBeIdentical(listed: ListedCertificate, certificate: CertificateInfo): boolean {
  const own = localRecord(certificate);
  const same = (listedValue: number | null, value: number | null): boolean => listedValue === null || listedValue === value;
  return same(listed.validAt, own.validAt) && same(listed.expiresAt, own.expiresAt);
}

/**
 * Reads a candidate's content and compares its SHA-256 fingerprint with the certificate's. `gone` when it
 * was deleted since it was listed. A content the API does not give, or that does not decode, is an error,
 * not a "no": nothing is decided on a guess.
 */
export async function compare(
  api: CertificateReader,
  candidate: ListedCertificate,
  certificate: CertificateInfo,
): Promise<StoredCertificate | 'different' | 'gone'> {
  let stored: StoredCertificate;
  try {
    stored = await api.retrieve(candidate.id);
  } catch (error) {
    if (error instanceof ApiError && error.kind === 'not-found' && error.facts.missing === 'certificate') return 'gone';
    throw error;
  }
  const fingerprint = fingerprintOf(stored.content);
  if (typeof fingerprint !== 'string') {
    throw new ActionError(
      `Could not tell whether ${certificateLabel(candidate)} is this certificate: the API ${fingerprint.why}. Nothing was written, so as not to act on a guess.`,
      {
        title: 'api',
        hint: `Run the action again; if it persists, compare ${candidate.id} with fingerprint ${certificate.fingerprint} by hand (the dashboard, or GET /organization/certificates/${candidate.id}?include[]=content), and report the API's answer.`,
      },
    );
  }
  return fingerprint === certificate.fingerprint ? stored : 'different';
}

/**
 * Whether `candidate` is a copy of the certificate, reading its content at most once per run: `cache` holds the
 * copies already found (a run looks at the organization several times: after an upload, before retiring,
 * after its writes). Only candidates with matching dates are read; a certificate deleted since it was listed
 * is no copy.
 */
export async function knownCopy(
  candidate: ListedCertificate,
  look: { api: CertificateReader; certificate: CertificateInfo; cache: Map<string, StoredCertificate> },
): Promise<StoredCertificate | undefined> {
  const cached = look.cache.get(candidate.id);
  if (cached) return cached;
  if (!mayBeIdentical(candidate, look.certificate)) return undefined;
  const result = await compare(look.api, candidate, look.certificate);
  if (typeof result !== 'object') return undefined;
  look.cache.set(result.id, result);
  return result;
}

/** Every copy of the certificate among `listed` (compared by content; only candidates with matching dates are read). */
export async function findCopies(
  api: CertificateReader,
  certificate: CertificateInfo,
  listed: ListedCertificate[],
): Promise<StoredCertificate[]> {
  const copies: StoredCertificate[] = [];
  for (const candidate of listed.filter((c) => mayBeIdentical(c, certificate))) {
    const result = await compare(api, candidate, certificate);
    if (typeof result === 'object') copies.push(result);
  }
  return copies;
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
