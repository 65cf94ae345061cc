import * as path from 'node:path';
import * as core from '@actions/core';
import { ActionError, InputError } from './errors.js';
import { maskText } from './secrets.js';

/** Where the certificate comes from: exactly one of these. */
export type CertificateSource =
  { kind: 'inline'; text: string } | { kind: 'file'; path: string; given: string } | { kind: 'id'; id: string };

/** Every input of action.yml, parsed and validated once; nothing else reads inputs. */
export interface Settings {
  adminApiKey: string;
  source: CertificateSource;
  name: string | undefined;
  baseURL: string;
  maxRetries: number;
  timeoutMs: number;
  dryRun: boolean;
  strict: boolean;
  minValidityDays: number;
  warnValidityDays: number;
  activateOrganization: boolean;
  activateProjects: string[];
  retirePrevious: boolean;
  reuseExisting: boolean;
  deleteExpired: boolean;
  clientCertificate: string | undefined;
  clientKey: string | undefined;
  mtlsBaseURL: string;
  githubToken: string;
  commentOnPr: boolean;
}

export type InputReader = (name: string) => string;

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_MTLS_BASE_URL = 'https://mtls.api.openai.com/v1';
export const CERTIFICATE_ID_PATTERN = /^cert_[A-Za-z0-9]+$/;
export const PROJECT_ID_PATTERN = /^proj_[A-Za-z0-9]+$/;

/** Raw input, trimmed, as the runner passes it (`INPUT_<NAME>` with hyphens kept). */
export const readInput: InputReader = (name) => core.getInput(name);

/**
 * Registers every secret the inputs hold with the runner's masker, line by line, before anything
 * else is logged: the admin key (input or OPENAI_ADMIN_KEY), the client key and the GitHub token.
 */
export function maskSecrets(read: InputReader = readInput, env: NodeJS.ProcessEnv = process.env): void {
  const secrets = [read('admin-api-key'), env.OPENAI_ADMIN_KEY ?? '', read('client-key'), read('github-token')];
  for (const secret of secrets) maskText(secret);
}

export function readSettings(read: InputReader = readInput, env: NodeJS.ProcessEnv = process.env): Settings {
  const dryRun = readBoolean(read, 'dry-run', false);
  const adminApiKey = read('admin-api-key') || (env.OPENAI_ADMIN_KEY ?? '').trim();
  checkAdminKey(adminApiKey, dryRun);

  const clientCertificate = read('client-certificate') || undefined;
  const clientKey = read('client-key') || undefined;
  if (Boolean(clientCertificate) !== Boolean(clientKey)) {
    throw new InputError(
      clientCertificate ? 'client-key' : 'client-certificate',
      'client-certificate and client-key go together: only one of them is set.',
      'Set both (the PEM client certificate and its private key, from secrets), or neither.',
    );
  }

  const settings: Settings = {
    adminApiKey,
    source: readSource(read, env),
    name: readName(read),
    baseURL: readUrl(read, 'base-url', (env.OPENAI_BASE_URL ?? '').trim() || DEFAULT_BASE_URL),
    maxRetries: readNumber(read, 'max-retries', 3, { min: 0, max: 10, integer: true }),
    timeoutMs: readNumber(read, 'timeout-seconds', 60, { min: 1, max: 600 }) * 1000,
    dryRun,
    strict: readBoolean(read, 'strict', true),
    minValidityDays: readNumber(read, 'min-validity-days', 1, { min: 0, max: 3650 }),
    warnValidityDays: readNumber(read, 'warn-validity-days', 30, { min: 0, max: 3650 }),
    activateOrganization: readBoolean(read, 'activate-organization', false),
    activateProjects: readProjects(read),
    retirePrevious: readBoolean(read, 'retire-previous', false),
    reuseExisting: readBoolean(read, 'reuse-existing', true),
    deleteExpired: readBoolean(read, 'delete-expired', false),
    clientCertificate,
    clientKey,
    mtlsBaseURL: readUrl(read, 'mtls-base-url', DEFAULT_MTLS_BASE_URL),
    githubToken: read('github-token'),
    commentOnPr: readBoolean(read, 'comment-on-pr', false),
  };

  if (settings.retirePrevious && !settings.name && settings.source.kind !== 'id') {
    throw new InputError(
      'retire-previous',
      'retire-previous needs a name: it retires only certificates with the same name as the new one.',
      'Set name (for example "corp-mtls-ca"), and use the same name for every generation of this CA.',
    );
  }
  if (settings.retirePrevious && !settings.activateOrganization && settings.activateProjects.length === 0) {
    throw new InputError(
      'retire-previous',
      'retire-previous retires the previous CA only in a scope where the new one is activated, and no scope is set.',
      'Set activate-organization: true and/or activate-projects.',
    );
  }
  if (settings.commentOnPr && !settings.githubToken) {
    throw new InputError(
      'github-token',
      'comment-on-pr is true but github-token is empty.',
      'Leave github-token at its default (${{ github.token }}) or pass a token that may write pull-request comments.',
    );
  }
  return settings;
}

function checkAdminKey(key: string, dryRun: boolean): void {
  if (!key && !dryRun) {
    throw new InputError(
      'admin-api-key',
      'No OpenAI Admin API key: admin-api-key is empty and OPENAI_ADMIN_KEY is not set.',
      'Pass it from a secret: `admin-api-key: ${{ secrets.OPENAI_ADMIN_KEY }}` (or use dry-run: true to run the local checks only).',
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

function readSource(read: InputReader, env: NodeJS.ProcessEnv): CertificateSource {
  const text = read('certificate');
  const file = read('certificate-file');
  const id = read('certificate-id');
  const given = [text && 'certificate', file && 'certificate-file', id && 'certificate-id'].filter(Boolean);
  if (given.length !== 1) {
    // Titled as the preflight rule it is (rule 1, `source`), so the annotation and summary row agree.
    throw new ActionError(
      given.length === 0
        ? 'No certificate given: certificate, certificate-file and certificate-id are all empty.'
        : `Only one certificate source may be set, but ${given.join(' and ')} are set.`,
      {
        title: 'source',
        hint:
          'Set exactly one: certificate (PEM text, usually from a secret), certificate-file (a path in the workspace) or certificate-id (a certificate already uploaded).' +
          (given.length === 0 ? ' If you pass a secret, check that the secret exists and is available to this workflow.' : ''),
      },
    );
  }
  if (text) return { kind: 'inline', text };
  if (file) {
    const workspace = env.GITHUB_WORKSPACE || process.cwd();
    return { kind: 'file', path: path.resolve(workspace, file), given: file };
  }
  if (!CERTIFICATE_ID_PATTERN.test(id)) {
    throw new InputError(
      'certificate-id',
      `certificate-id "${id}" is not a certificate id.`,
      'Certificate ids look like cert_abc123: use the certificate-id output of the step that uploaded it.',
    );
  }
  return { kind: 'id', id };
}

function readName(read: InputReader): string | undefined {
  const name = read('name');
  if (!name) return undefined;
  if (/[\r\n]/.test(name) || name.length > 200) {
    throw new InputError(
      'name',
      'name must be a single line of at most 200 characters.',
      'Use a short name that identifies the authority and its generation, for example "corp-mtls-ca-2027".',
    );
  }
  return name;
}

function readProjects(read: InputReader): string[] {
  const ids = [
    ...new Set(
      read('activate-projects')
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  ];
  const bad = ids.filter((id) => !PROJECT_ID_PATTERN.test(id));
  if (bad.length > 0) {
    throw new InputError(
      'activate-projects',
      `Not project ids: ${bad.map((b) => `"${b}"`).join(', ')}.`,
      'List project ids (proj_...), separated by commas or new lines; find them under organization settings → Projects.',
    );
  }
  return ids;
}

function readBoolean(read: InputReader, name: string, fallback: boolean): boolean {
  const raw = read(name);
  if (!raw) return fallback;
  if (/^(true|True|TRUE)$/.test(raw)) return true;
  if (/^(false|False|FALSE)$/.test(raw)) return false;
  throw new InputError(name, `${name} must be true or false, not "${raw}".`, `Set ${name}: true or ${name}: false.`);
}

function readNumber(read: InputReader, name: string, fallback: number, limits: { min: number; max: number; integer?: boolean }): number {
  const raw = read(name);
  if (!raw) return fallback;
  const value = Number(raw);
  const ok = /^\d+(\.\d+)?$/.test(raw) && value >= limits.min && value <= limits.max && (!limits.integer || Number.isInteger(value));
  if (!ok) {
    const kind = limits.integer ? 'a whole number' : 'a number';
    throw new InputError(
      name,
      `${name} must be ${kind} from ${limits.min} to ${limits.max}, not "${raw}".`,
      `Set ${name} to ${kind} in that range, or remove it to use the default (${fallback}).`,
    );
  }
  return value;
}

function readUrl(read: InputReader, name: string, fallback: string): string {
  const raw = read(name) || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(
      name,
      `${name} is not a URL: "${raw}".`,
      `Use a full URL such as ${name === 'base-url' ? DEFAULT_BASE_URL : DEFAULT_MTLS_BASE_URL}.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(name, `${name} must be an http(s) URL, not "${raw}".`, `Use a full URL such as ${DEFAULT_BASE_URL}.`);
  }
  if (url.username || url.password) {
    throw new InputError(
      name,
      `${name} must not carry credentials.`,
      'Remove the user and password from the URL; the admin key is passed separately.',
    );
  }
  return raw.replace(/\/+$/, '');
}
