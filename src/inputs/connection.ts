import type { Advisory } from '../advisory.js';
import { assertClientCertificate } from '../certificate/client.js';
import { ActionError, InputError } from '../errors.js';
import { maskText } from '../secrets.js';
import { oneLine } from '../text.js';
import { readNumber, readInput, type InputReader } from './read.js';

/** How both actions reach the OpenAI API: validated once, the same way, by the same code. */
export interface Connection {
  adminApiKey: string;
  baseURL: string;
  maxRetries: number;
  timeoutMs: number;
  clientCertificate: string | undefined;
  clientKey: string | undefined;
  mtlsBaseURL: string;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_MTLS_BASE_URL = 'https://mtls.api.openai.com/v1';

/**
 * Registers every secret among the inputs with the runner's masker, before anything else is logged: the
 * admin key (input or OPENAI_ADMIN_KEY), the client key, and the other inputs named (the GitHub token).
 */
export function maskSecrets(read: InputReader = readInput, env: NodeJS.ProcessEnv = process.env, others: string[] = []): void {
  for (const secret of [read('admin-api-key'), env.OPENAI_ADMIN_KEY ?? '', read('client-key'), ...others.map(read)]) maskText(secret);
}

/** `keyOptional`: a missing admin key is not an error (the main action's dry run checks locally only). */
export function readConnection(read: InputReader, env: NodeJS.ProcessEnv, keyOptional = false): Connection {
  const adminApiKey = read('admin-api-key') || (env.OPENAI_ADMIN_KEY ?? '').trim();
  checkAdminKey(adminApiKey, keyOptional);

  const clientCertificate = read('client-certificate') || undefined;
  const clientKey = read('client-key') || undefined;
  if (Boolean(clientCertificate) !== Boolean(clientKey)) {
    throw new InputError(
      clientCertificate ? 'client-key' : 'client-certificate',
      'client-certificate and client-key go together: only one of them is set.',
      'Set both (the PEM client certificate and its private key, from secrets), or neither.',
    );
  }
  const connection: Connection = {
    adminApiKey,
    // Never OPENAI_BASE_URL: workflows set it for other tools (an LLM gateway), and the admin key must
    // go only where this action's inputs say.
    baseURL: readUrl(read, 'base-url', DEFAULT_BASE_URL, false),
    maxRetries: readNumber(read, 'max-retries', 3, { min: 0, max: 10, integer: true }),
    timeoutMs: readNumber(read, 'timeout-seconds', 60, { min: 1, max: 600 }) * 1000,
    clientCertificate,
    clientKey,
    mtlsBaseURL: readUrl(read, 'mtls-base-url', DEFAULT_MTLS_BASE_URL, true),
  };
  checkTlsVerification(connection, env);
  // Checked here, before any request: a key that does not match, an expired or non-client certificate, a chain out of order.
  if (clientCertificate && clientKey)
    assertClientCertificate(
      { certificate: clientCertificate, key: clientKey, certificateInput: 'client-certificate', keyInput: 'client-key' },
      { now: new Date() },
    );
  return connection;
}

/**
 * Refuses to send the admin key over TLS that is not verified. NODE_TLS_REJECT_UNAUTHORIZED=0 (Node honours
 * exactly "0") turns off the check of the server's certificate for every TLS connection of the process, so
 * any host in the way could read the key. Plain http to a loopback host is allowed with it: there is no TLS
 * to verify there, and the request does not leave the machine (client.ts never sends it through a proxy).
 * A run without an admin key (a dry run that checks locally) sends nothing to OpenAI, so is not refused.
 */
function checkTlsVerification(connection: Connection, env: NodeJS.ProcessEnv): void {
  if (env.NODE_TLS_REJECT_UNAUTHORIZED !== '0' || !connection.adminApiKey) return;
  const target = connection.clientCertificate !== undefined ? connection.mtlsBaseURL : connection.baseURL;
  if (new URL(target).protocol !== 'https:') return;
  throw new ActionError(
    'NODE_TLS_REJECT_UNAUTHORIZED=0 is set in the environment: TLS certificates are not verified, so the admin key could be read by any host on the way. Nothing was sent.',
    {
      title: 'NODE_TLS_REJECT_UNAUTHORIZED',
      hint: 'Remove NODE_TLS_REJECT_UNAUTHORIZED from the job. If a proxy inspects TLS, trust its CA instead: set NODE_EXTRA_CA_CERTS to the path of a PEM file holding that CA certificate.',
    },
  );
}

/**
 * A URL as it may be printed: a user and password (everything before the last `@`) and a query string or
 * fragment are replaced by `***`, and the rest is redacted and kept on one line. Used for every URL input
 * in a message, since such an input can hold a token in any of those parts.
 */
export function printableUrl(raw: string): string {
  let text = raw.replace(/([?#])[\s\S]*$/, '$1***');
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
    text = `${scheme}***${text.slice(Math.max(at, scheme.length))}`;
  }
  return oneLine(text);
}

function checkAdminKey(key: string, optional: boolean): void {
  if (!key && !optional) {
    throw new InputError(
      'admin-api-key',
      'No OpenAI Admin API key: admin-api-key is empty and OPENAI_ADMIN_KEY is not set.',
      'Pass it from a secret: `admin-api-key: ${{ secrets.OPENAI_ADMIN_KEY }}`' +
        (optional ? ' (or use dry-run: true to run the local checks only).' : '.'),
    );
  }
  if (/^sk-(proj|svcacct|None)-/.test(key)) {
    throw new InputError(
      'admin-api-key',
      'admin-api-key holds a project or service-account key; certificate endpoints accept only Admin API keys.',
      'Create an Admin API key (organization settings → Admin keys) with the api.mtls.read and api.mtls.write permissions.',
    );
  }
  if (/\s/.test(key)) {
    throw new InputError(
      'admin-api-key',
      'admin-api-key contains white space or several lines.',
      'Store the key alone in the secret, with no spaces or line breaks.',
    );
  }
}

/**
 * Loopback hosts (a URL's `hostname`): the only ones plain http may reach (a local emulator), and always
 * reached directly, never through a proxy (client.ts); nothing leaves the machine.
 */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * `httpsOnly`: the client certificate is presented in the TLS handshake, which plain http does not have.
 * A URL that carries credentials, a query string or a fragment is refused, and never printed whole.
 */
function readUrl(read: InputReader, name: string, fallback: string, httpsOnly: boolean): string {
  const raw = read(name) || fallback;
  const example = name === 'base-url' ? DEFAULT_BASE_URL : DEFAULT_MTLS_BASE_URL;
  const shown = printableUrl(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(name, `${name} is not a URL: "${shown}".`, `Use a full URL such as ${example}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(name, `${name} must be an https URL, not "${shown}".`, `Use a full URL such as ${example}.`);
  }
  // `https://@host` has an empty user, and a `@` there is credentials all the same.
  if (url.username || url.password || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(raw)) {
    throw new InputError(
      name,
      `${name} must not carry credentials. Nothing was sent.`,
      'Remove the user and password from the URL; the admin key is passed separately.',
    );
  }
  if (url.search || url.hash || /[?#]/.test(raw)) {
    throw new InputError(
      name,
      `${name} must not carry a query string or a fragment ("${shown}"). Nothing was sent.`,
      `Remove everything from the ? or #, as in ${example}: the admin key is passed separately, and a token in a URL is seen, and often logged, by every proxy and server on the way.`,
    );
  }
  if (url.protocol === 'http:' && httpsOnly) {
    throw new InputError(
      name,
      `${name} must be https, not "${shown}": the client certificate is presented in the TLS handshake, which http does not have.`,
      `Use the mTLS host over https, such as ${DEFAULT_MTLS_BASE_URL}.`,
    );
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new InputError(
      name,
      `${name} is plain http to ${oneLine(url.host)}: the admin key would cross the network unencrypted. Nothing was sent.`,
      `Use https (such as ${example}); http is accepted only for a loopback host (127.0.0.1, localhost), such as a local emulator.`,
    );
  }
  return raw.replace(/\/+$/, '');
}

/** Notices and warnings about the connection inputs, said once they are read. */
export function connectionAdvisories(connection: Connection, env: NodeJS.ProcessEnv): Advisory[] {
  const advisories: Advisory[] = [];
  if ((env.OPENAI_BASE_URL ?? '').trim()) {
    advisories.push({
      level: 'notice',
      title: 'OPENAI_BASE_URL',
      message: `OPENAI_BASE_URL is set in the environment and is not used: the admin key goes only to base-url (${connection.baseURL}). Set base-url if the API is reached elsewhere.`,
    });
  }
  const path = new URL(connection.baseURL).pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v1')) {
    advisories.push({
      level: 'warning',
      title: 'input base-url',
      message: `base-url ${connection.baseURL} does not end in /v1, as OpenAI's API base does (${DEFAULT_BASE_URL}); calls will go to ${connection.baseURL}/organization/certificates.`,
    });
  }
  return advisories;
}
