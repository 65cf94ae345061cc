/**
 * How to fix an API failure, in terms of the inputs of the action that made the call: the inputs belong to
 * the actions, so the hints that name them live here, not in api/.
 */
import type { ApiError } from '../api/errors.js';

const PROXY_CA = 'a proxy that inspects TLS needs its CA in NODE_EXTRA_CA_CERTS';

/** `projectInput`: the input the action reads project ids from (activate-projects, or the status action's projects). */
export function hintFor(error: ApiError, projectInput: string): string | undefined {
  const { facts } = error;
  switch (facts.kind) {
    case 'timeout':
      return 'The API may be slow or down (see status.openai.com), or a proxy or firewall holds the connection. Try again later, or raise timeout-seconds.';
    case 'connection':
      return connectionHint(facts.connectionCode);
    case 'auth':
      return 'admin-api-key must be an Admin API key of the organization (organization settings → Admin keys), not a project key; check that the secret holds the whole key and that the key was not revoked.';
    case 'permission':
      return `Give the Admin API key ${facts.permission ?? `the ${/^(list|read|look|find|get)/.test(facts.call) ? 'api.mtls.read' : 'api.mtls.write (and api.mtls.read)'} permission`}, or use a key that has it.`;
    case 'mtls-required':
      return 'Certificates are active at the organization level, and OpenAI then enforces client certificates on Admin API key requests too. Pass client-certificate and client-key (a client certificate chaining to an active CA, and its key, from secrets) so the action calls the mTLS host; if you already do, the client certificate must chain to a CA that is active for the organization and be within its validity.';
    case 'not-found':
      if (facts.missing === 'project')
        return `Check the id in ${projectInput}: it must be a project of the organization of the admin key (organization settings → Projects).`;
      if (facts.missing === 'certificate')
        return 'Check certificate-id: it must be a certificate of this organization, such as the certificate-id output of the step that uploaded it. If it was, it may have been deleted while the action ran: run the action again.';
      return 'Check base-url: it must point at the OpenAI API (https://api.openai.com/v1).';
    case 'in-use':
      return 'A certificate can be deleted only when it is inactive for the organization and every project: deactivate it everywhere first.';
    case 'invalid':
      return 'OpenAI refused the certificate as invalid: it must be one PEM X.509 CA certificate (CA:TRUE, Subject and Authority Key Identifiers, Key Usage keyCertSign and cRLSign), under 16 KB.';
    case 'expired':
      return 'OpenAI refuses certificates that have expired or expire within one day: issue a new CA certificate.';
    case 'limit':
      return 'The organization holds 50 certificates, the most OpenAI allows: delete unused ones (delete-expired: true removes expired, inactive ones).';
    case 'rate-limit':
      return 'The API kept rate-limiting the action after its retries. Run it again later, or raise max-retries.';
    case 'server':
      return 'The OpenAI API failed on its side. Try again later (see status.openai.com), or raise max-retries.';
    case 'redirect':
      return 'Set base-url (and mtls-base-url) to the address the API answers at directly, such as https://api.openai.com/v1.';
    case 'unreadable':
      if (facts.endless)
        return 'Check that base-url and any proxy (HTTPS_PROXY, NO_PROXY) pass the query string through unchanged: the list is read page by page with ?after=. If base-url is the OpenAI API itself with no proxy in between, run with debug logging and report it.';
      return `Check base-url and the proxy settings (HTTPS_PROXY, NO_PROXY): the answer did not come from the OpenAI API. If it persists, run with debug logging and report it.`;
    case 'aborted':
      return 'The run was cancelled.';
    default:
      return 'See the API message; the action sent only the certificate, its name and certificate ids.';
  }
}

/** What to do about a connection that failed, by the error code Node or OpenSSL gave. */
function connectionHint(reason: string): string {
  if (/KEY_VALUES_MISMATCH/.test(reason)) {
    return 'client-key is not the private key of client-certificate: pass the key that belongs to the certificate (both from secrets).';
  }
  if (/^ERR_OSSL_(PEM|ASN1|UNSUPPORTED|DECODER)|^ERR_OSSL_.*(KEY|CERT|PEM)/.test(reason)) {
    return 'client-certificate or client-key could not be read: both must be PEM, the key unencrypted (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----).';
  }
  if (/^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/.test(reason)) {
    return `The server's TLS certificate was not trusted. Check base-url (and mtls-base-url); ${PROXY_CA}.`;
  }
  if (/^(EPROTO|ERR_SSL_|ERR_TLS_)/.test(reason)) {
    return 'The TLS handshake failed. Check that base-url (or mtls-base-url) is an https URL of the OpenAI API, and, when a client certificate is presented, that the host accepts it.';
  }
  return 'Check that the runner can reach the host (DNS, firewall, proxy: HTTPS_PROXY and NO_PROXY), and that base-url is right.';
}
