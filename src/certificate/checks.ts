import { duration } from '../wording.js';
import { MAX_CERTIFICATE_BYTES } from '../limits.js';
import type { SourceError } from '../errors.js';
import { decodeInput, isPrivateKeyLabel, type DecodedInput, type PemBlock } from './decode.js';
import { inspectCertificate, type CertificateInfo } from './inspect.js';
import { DAY_MS, isoSeconds, seconds } from '../time.js';

/** The preflight rules, in order, by their stable names (used as annotation titles). */
export const CHECK_NAMES = [
  'source',
  'decoding',
  'private-key',
  'single-certificate',
  'x509',
  'ca-basic-constraints',
  'subject-key-identifier',
  'authority-key-identifier',
  'key-usage',
  'validity',
  'size',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
export type CheckStatus = 'pass' | 'fail' | 'warning' | 'not run';

export interface Check {
  name: CheckName;
  status: CheckStatus;
  /** What was found (pass) or what is wrong (fail, warning). */
  message: string;
  /** How to fix it (fail, warning). */
  hint?: string;
}

export interface PreflightOptions {
  strict: boolean;
  minValidityDays: number;
  warnValidityDays: number;
  now: Date;
  /** Registers private-key material with the runner's masker (secrets.ts), before anything else happens. */
  mask: (secret: string) => void;
}

export interface Preflight {
  checks: Check[];
  /** The parsed certificate, when the checks got that far. */
  certificate: CertificateInfo | undefined;
}

const CA_PROFILE_FIX =
  'A conforming CA is made with openssl like this: openssl req -x509 -new -key ca.key -days 730 -subj "/CN=Example mTLS CA" ' +
  '-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" ' +
  '-addext "subjectKeyIdentifier=hash" -addext "authorityKeyIdentifier=keyid:always" -out ca.pem';

/** Every rule in order, those not in `results` marked as not run. */
function table(results: Map<CheckName, Check>): Check[] {
  return CHECK_NAMES.map((name) => results.get(name) ?? { name, status: 'not run' as const, message: 'not run: an earlier check failed' });
}

/** The checks when the source itself cannot be used: rule 1 (`source`) failed, the others not run. */
export function sourceFailure(error: SourceError): Check[] {
  return table(
    new Map([['source', { name: 'source', status: 'fail', message: error.message, ...(error.hint ? { hint: error.hint } : {}) }]]),
  );
}

/**
 * Runs every rule on the bytes of the source. Rules 2-5 stop the run when they fail (there is nothing
 * further to look at); rules 6-11 all run.
 */
export function runPreflight(source: Uint8Array, options: PreflightOptions): Preflight {
  const results = new Map<CheckName, Check>();
  const set = (check: Check): void => void results.set(check.name, check);
  const finish = (certificate?: CertificateInfo): Preflight => ({ checks: table(results), certificate });

  set({ name: 'source', status: 'pass', message: `${source.length} bytes read` });

  const decoded = decodeInput(source);
  for (const key of decoded.keyMaterial) options.mask(key);

  const truncated = [...new Set(decoded.unterminated)].slice(0, MAX_LISTED);
  const truncation: Check = {
    name: 'decoding',
    status: 'fail',
    message: `The PEM is truncated or mangled: ${truncated.map((label) => `-----BEGIN ${label}----- has no matching -----END ${label}----- line`).join('; ')}.`,
    hint: 'Copy the whole certificate again, from the -----BEGIN CERTIFICATE----- line through the -----END CERTIFICATE----- line, dashes included.',
  };
  if (decoded.blocks.length === 0 && truncated.length === 0) {
    set({
      name: 'decoding',
      status: 'fail',
      message:
        source.length === 0
          ? 'No certificate found: the input is empty.'
          : 'No certificate found: the input is not PEM, base64 of a PEM, or DER.',
      hint: 'Pass the CA certificate in PEM (the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----), base64 of that PEM, or a DER file. If the secret is empty or misspelt, the input is empty too.',
    });
    return finish();
  }
  if (truncated.length > 0) {
    // A private key beside the damaged block matters more: report the damage as a warning and go on to refuse the key.
    if (decoded.keyMaterial.length === 0) {
      set(truncation);
      return finish();
    }
    set({ ...truncation, status: 'warning' });
  } else {
    set({ name: 'decoding', status: 'pass', message: describeEncoding(decoded) });
  }

  if (decoded.keyMaterial.length > 0) {
    const labels = [...new Set(decoded.blocks.filter((b) => isPrivateKeyLabel(b.label)).map((b) => b.label))];
    const pkcs12 = labels.includes('PKCS12');
    const what = labels.map((label) => (label === 'PKCS12' ? 'a PKCS#12 (.p12/.pfx) archive, which holds private keys' : label)).join(', ');
    set({
      name: 'private-key',
      status: 'fail',
      message: `The input contains a private key (${what}${decoded.encoding === 'pem' || decoded.encoding === 'base64-pem' ? '' : ', DER'}). Nothing was sent, and the key is not shown.`,
      hint:
        (pkcs12 ? 'Extract the CA certificate alone: openssl pkcs12 -in ca.p12 -nokeys -out ca.pem, then keep only the CA block. ' : '') +
        'Only the CA certificate is uploaded: remove the key from the secret or file. If this key was ever stored anywhere shared (a repository secret, a file in the repository, a log), treat it as exposed and rotate the CA.',
    });
    return finish();
  }
  set({ name: 'private-key', status: 'pass', message: 'no private key in the input' });

  const single = checkSingleCertificate(decoded.blocks);
  set(single.check);
  if (!single.block) return finish();

  let certificate: CertificateInfo;
  try {
    certificate = inspectCertificate(single.block.der);
  } catch (error) {
    set({
      name: 'x509',
      status: 'fail',
      message: `The CERTIFICATE block does not parse as X.509 (${(error as Error).message}).`,
      hint: 'The base64 may be truncated or edited: export the CA certificate again, e.g. openssl x509 -in ca.pem -out ca-clean.pem, and check it with openssl x509 -in ca-clean.pem -noout -text.',
    });
    return finish();
  }
  set({ name: 'x509', status: 'pass', message: `${certificate.subject} (${certificate.publicKey})` });

  for (const check of profileChecks(certificate, options)) set(check);
  return finish(certificate);
}

function describeEncoding(decoded: DecodedInput): string {
  switch (decoded.encoding) {
    case 'base64-pem':
      return 'base64 of a PEM text';
    case 'der':
      return 'DER';
    case 'base64-der':
      return 'base64 of DER';
    default:
      return 'PEM';
  }
}

const PEM_TYPES: Record<string, string> = {
  'CERTIFICATE REQUEST': 'a certificate signing request (CSR)',
  'NEW CERTIFICATE REQUEST': 'a certificate signing request (CSR)',
  PKCS7: 'a PKCS#7 bundle',
  CMS: 'a CMS (PKCS#7) bundle',
  'X509 CRL': 'a certificate revocation list (CRL)',
  'PUBLIC KEY': 'a public key',
  'RSA PUBLIC KEY': 'an RSA public key',
  'TRUSTED CERTIFICATE': 'an OpenSSL TRUSTED CERTIFICATE (with trust settings)',
  'EC PARAMETERS': 'EC parameters',
};

function isCertificateLabel(label: string): boolean {
  return label === 'CERTIFICATE' || label === 'X509 CERTIFICATE';
}

function checkSingleCertificate(blocks: PemBlock[]): { check: Check; block?: PemBlock } {
  const certificates = blocks.filter((b) => isCertificateLabel(b.label));
  const others = [...new Set(blocks.filter((b) => !isCertificateLabel(b.label)).map((b) => b.label))];
  if (others.length > 0) {
    const what = others
      .slice(0, MAX_LISTED)
      .map((label) => `${PEM_TYPES[label] ?? 'a PEM block of another type'} (-----BEGIN ${label}-----)`)
      .join(', ');
    return {
      check: {
        name: 'single-certificate',
        status: 'fail',
        message: `The input contains ${what}${certificates.length ? ` besides ${certificates.length} certificate(s)` : ' and no certificate'}.`,
        hint: others.includes('TRUSTED CERTIFICATE')
          ? 'Convert it to a plain certificate: openssl x509 -in ca.pem -out ca-plain.pem.'
          : 'Pass only the CA certificate itself, one -----BEGIN CERTIFICATE----- block. A CSR must first be signed into a certificate; from a PKCS#7 bundle, extract the CA with openssl pkcs7 -print_certs.',
      },
    };
  }
  if (certificates.length !== 1) {
    // A whole trust store pasted by mistake would make a huge annotation: name the first ones only.
    const subjects = certificates.slice(0, MAX_LISTED).map((b, i) => `${i + 1}. ${subjectOf(b.der)}`);
    const more = certificates.length > MAX_LISTED ? `; and ${certificates.length - MAX_LISTED} more` : '';
    return {
      check: {
        name: 'single-certificate',
        status: 'fail',
        message: `The input holds ${certificates.length} certificates (a chain or bundle): ${subjects.join('; ')}${more}.`,
        hint: 'Upload one CA certificate per step: the CA that issues your client certificates. OpenAI uses only the first certificate of a PEM with several, so a bundle would silently trust the wrong one.',
      },
    };
  }
  return { check: { name: 'single-certificate', status: 'pass', message: 'exactly one certificate' }, block: certificates[0] };
}

const MAX_LISTED = 10;

function subjectOf(der: Buffer): string {
  try {
    return inspectCertificate(der).subject;
  } catch {
    return '(does not parse as X.509)';
  }
}

function profileChecks(cert: CertificateInfo, options: PreflightOptions): Check[] {
  const profileStatus = options.strict ? 'fail' : 'warning';
  // Stryker disable next-line ArrayDeclaration: an element without a name is never seen: runPreflight keeps the checks by name and reports only those of CHECK_NAMES.
  const checks: Check[] = [];

  if (cert.basicConstraints?.ca) {
    checks.push({
      name: 'ca-basic-constraints',
      status: 'pass',
      message: `CA:TRUE${cert.basicConstraints.pathLength === undefined ? '' : `, pathlen ${cert.basicConstraints.pathLength}`}`,
    });
  } else {
    checks.push({
      name: 'ca-basic-constraints',
      status: 'fail',
      message: `${cert.subject} is not a CA certificate (${cert.basicConstraints ? 'basicConstraints CA:FALSE' : 'no basicConstraints extension'}): it looks like a client or server (leaf) certificate. OpenAI needs the CA that issues your client certificates${cert.selfSigned ? '' : ` (this one was issued by ${cert.issuer})`}.`,
      hint: `Upload the issuing CA's certificate instead. ${CA_PROFILE_FIX}`,
    });
  }

  if (cert.subjectKeyId) {
    checks.push({ name: 'subject-key-identifier', status: 'pass', message: cert.subjectKeyId });
  } else {
    checks.push({
      name: 'subject-key-identifier',
      status: profileStatus,
      message: 'The certificate has no Subject Key Identifier; OpenAI requires one on a CA.',
      hint: `Reissue the CA with -addext "subjectKeyIdentifier=hash". ${CA_PROFILE_FIX}`,
    });
  }

  if (cert.authorityKeyId?.keyId) {
    checks.push({ name: 'authority-key-identifier', status: 'pass', message: `keyid ${cert.authorityKeyId.keyId}` });
  } else {
    checks.push({
      name: 'authority-key-identifier',
      status: profileStatus,
      message: cert.authorityKeyId
        ? 'The Authority Key Identifier has no keyIdentifier (only issuer and serial); OpenAI requires the keyIdentifier form.'
        : 'The certificate has no Authority Key Identifier; OpenAI requires one, in keyIdentifier form.',
      hint: `Reissue the CA with -addext "authorityKeyIdentifier=keyid:always". ${CA_PROFILE_FIX}`,
    });
  }

  // Stryker disable next-line ArrayDeclaration: without a Key Usage extension both usages are missing either way, and the message then does not list usages.
  const usage = cert.keyUsage ?? [];
  const missing = ['keyCertSign', 'crlSign'].filter((u) => !usage.includes(u));
  if (cert.keyUsage && missing.length === 0) {
    checks.push({ name: 'key-usage', status: 'pass', message: usage.join(', ') });
  } else {
    checks.push({
      name: 'key-usage',
      status: profileStatus,
      message: cert.keyUsage
        ? `Key Usage lacks ${missing.map((m) => (m === 'crlSign' ? 'cRLSign (CRL Sign)' : 'keyCertSign (Certificate Sign)')).join(' and ')}; it has ${usage.join(', ') || 'nothing'}.`
        : 'The certificate has no Key Usage extension; OpenAI requires keyCertSign and cRLSign on a CA.',
      hint: `Reissue the CA with -addext "keyUsage=critical,keyCertSign,cRLSign". ${CA_PROFILE_FIX}`,
    });
  }

  checks.push(validityCheck(cert, options));

  const size = Buffer.byteLength(cert.pem);
  checks.push(
    size < MAX_CERTIFICATE_BYTES
      ? { name: 'size', status: 'pass', message: `${size} bytes` }
      : {
          name: 'size',
          status: 'fail',
          message: `The PEM is ${size} bytes; OpenAI accepts certificates under 16 KB (${MAX_CERTIFICATE_BYTES.toLocaleString('en-US')} bytes).`,
          hint: 'Issue the CA with fewer extensions (long policy or name lists make it large) or a smaller key.',
        },
  );
  return checks;
}

function validityCheck(cert: CertificateInfo, options: PreflightOptions): Check {
  const now = options.now.getTime();
  const daysLeft = (cert.notAfter.getTime() - now) / DAY_MS;
  const until = isoSeconds(seconds(cert.notAfter));
  const renew = 'Issue a new CA certificate (or renew this one with the same key) and upload that.';
  if (daysLeft <= 0) {
    return { name: 'validity', status: 'fail', message: `The certificate expired on ${until}.`, hint: renew };
  }
  // "Within" includes the bound: OpenAI wants more than one day left, so exactly one day is refused too.
  if (daysLeft <= options.minValidityDays) {
    return {
      name: 'validity',
      status: 'fail',
      message: `The certificate expires on ${until}, in ${formatDays(daysLeft)}: within min-validity-days (${options.minValidityDays}).${options.minValidityDays <= 1 ? ' OpenAI refuses certificates that expire within a day.' : ''}`,
      hint: renew,
    };
  }
  if (cert.notBefore.getTime() > now) {
    return {
      name: 'validity',
      status: 'warning',
      message: `The certificate is not valid yet: it becomes valid on ${isoSeconds(seconds(cert.notBefore))}.`,
      hint: 'Client certificates chaining to it will fail until then; check the clock of the machine that issued it.',
    };
  }
  if (daysLeft < options.warnValidityDays) {
    return {
      name: 'validity',
      status: 'warning',
      message: `The certificate expires soon: on ${until}, in ${formatDays(daysLeft)} (warn-validity-days is ${options.warnValidityDays}).`,
      hint: 'Plan its rotation now: upload the next CA and activate it before this one expires.',
    };
  }
  return { name: 'validity', status: 'pass', message: `valid until ${until} (${duration(daysLeft * DAY_MS)} left)` };
}

function formatDays(days: number): string {
  return duration(days * DAY_MS);
}
