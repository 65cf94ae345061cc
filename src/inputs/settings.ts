import * as path from 'node:path';
import { readCanary, type Canary } from '../canary/settings.js';
import { InputError, SourceError } from '../errors.js';
import { readConnection, type Connection } from './connection.js';
import { readBoolean, readCertificateName, readInput, readNumber, readProjectIds, type InputReader } from './read.js';

/** Where the certificate comes from: exactly one of these. */
export type CertificateSource =
  { kind: 'inline'; text: string } | { kind: 'file'; path: string; given: string } | { kind: 'id'; id: string };

/** Every input of the main action.yml, parsed and validated once; nothing else reads inputs. */
export interface Settings extends Connection {
  source: CertificateSource;
  name: string | undefined;
  dryRun: boolean;
  strict: boolean;
  minValidityDays: number;
  warnValidityDays: number;
  activateOrganization: boolean;
  activateProjects: string[];
  retirePrevious: boolean;
  reuseExisting: boolean;
  deleteExpired: boolean;
  githubToken: string;
  commentOnPr: boolean;
  /** Staged rollout: the canary project and its proof inputs, when they are set (canary/settings.ts). */
  canary?: Canary | undefined;
}

const CERTIFICATE_ID_PATTERN = /^cert_[A-Za-z0-9]+$/;

export function readSettings(read: InputReader = readInput, env: NodeJS.ProcessEnv = process.env): Settings {
  const dryRun = readBoolean(read, 'dry-run', false);
  const settings: Settings = {
    ...readConnection(read, env, dryRun),
    source: readSource(read, env),
    name: readCertificateName(read),
    dryRun,
    strict: readBoolean(read, 'strict', true),
    minValidityDays: readNumber(read, 'min-validity-days', 1, { min: 1, max: 3650 }),
    warnValidityDays: readNumber(read, 'warn-validity-days', 30, { min: 0, max: 3650 }),
    activateOrganization: readBoolean(read, 'activate-organization', false),
    activateProjects: readProjectIds(read, 'activate-projects'),
    retirePrevious: readBoolean(read, 'retire-previous', false),
    reuseExisting: readBoolean(read, 'reuse-existing', true),
    deleteExpired: readBoolean(read, 'delete-expired', false),
    githubToken: read('github-token'),
    commentOnPr: readBoolean(read, 'comment-on-pr', false),
    canary: readCanary(read),
  };

  if (settings.retirePrevious && !settings.name && settings.source.kind !== 'id') {
    throw new InputError(
      'retire-previous',
      'retire-previous needs a name: it retires only certificates with the same name as the new one.',
      'Set name (for example "corp-mtls-ca"), and use the same name for every generation of this CA.',
    );
  }
  if (settings.retirePrevious && !settings.activateOrganization && settings.activateProjects.length === 0 && !settings.canary) {
    throw new InputError(
      'retire-previous',
      'retire-previous retires the previous CA only in a scope where the new one is activated, and no scope is set.',
      'Set activate-organization: true and/or activate-projects (or a canary-project).',
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

function readSource(read: InputReader, env: NodeJS.ProcessEnv): CertificateSource {
  const text = read('certificate');
  const file = read('certificate-file');
  const id = read('certificate-id');
  const given = [text && 'certificate', file && 'certificate-file', id && 'certificate-id'].filter(Boolean);
  if (given.length !== 1) {
    throw new SourceError(
      given.length === 0
        ? 'No certificate given: certificate, certificate-file and certificate-id are all empty.'
        : `Only one certificate source may be set, but ${given.join(' and ')} are set.`,
      'Set exactly one: certificate (PEM text, usually from a secret), certificate-file (a path in the workspace) or certificate-id (a certificate already uploaded).' +
        (given.length === 0 ? ' If you pass a secret, check that the secret exists and is available to this workflow.' : ''),
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
