/**
 * The canary inputs of a staged rollout: a project where the new CA is activated first, and a client
 * certificate, key and API key to prove it there with one real request before anything widens. Read
 * and checked all at once, before anything is sent: either every canary input is set, or none is.
 */
import { assertClientCertificate, type ChainEntry } from '../certificate/client.js';
import { InputError } from '../errors.js';
import { readNumber, readProjectIds, type InputReader } from '../inputs/read.js';
import { maskText } from '../secrets.js';

export interface Canary {
  /**
   * The project (proj_...) where the staged flow is to activate the new CA first. Decided for that flow:
   * it counts as an activated scope whether or not activate-projects lists it.
   */
  projectId: string;
  /** PEM: the client certificate issued by the new CA, then any intermediates, leaf first. */
  clientCertificate: string;
  /** PEM private key of the client certificate. */
  clientKey: string;
  /** An API key of the canary project, used for the proof request only. */
  apiKey: string;
  /** How long the proof may keep retrying while the activation takes effect. */
  timeoutMs: number;
  /** The certificates of clientCertificate, leaf first. */
  chain: ChainEntry[];
}

/** The inputs that must be set together, in the order they are named when missing. */
const CANARY_INPUTS = ['canary-project', 'canary-client-certificate', 'canary-client-key', 'canary-api-key'] as const;
const CANARY_TIMEOUT_INPUT = 'canary-timeout-seconds';
const DEFAULT_CANARY_TIMEOUT_SECONDS = 120;
const MAX_CANARY_TIMEOUT_SECONDS = 1800;

const CERTIFICATE_INPUTS = { certificateInput: 'canary-client-certificate', keyInput: 'canary-client-key' };

/**
 * The canary, or undefined when no canary input is set. Masks the canary key and client key first, so
 * that no error below can show them. `now` judges the client certificate's validity.
 */
export function readCanary(read: InputReader, now: Date = new Date()): Canary | undefined {
  maskText(read('canary-api-key'));
  maskText(read('canary-client-key'));

  const given = CANARY_INPUTS.filter((name) => read(name));
  const timeoutGiven = Boolean(read(CANARY_TIMEOUT_INPUT));
  if (given.length === 0 && !timeoutGiven) return undefined;
  const missing = CANARY_INPUTS.filter((name) => !read(name));
  if (missing.length > 0) {
    const set = [...given, ...(timeoutGiven ? [CANARY_TIMEOUT_INPUT] : [])];
    throw new InputError(
      missing[0]!,
      `A canary needs ${CANARY_INPUTS.join(', ')} together: ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not.`,
      `Set ${missing.join(', ')} too (the keys from secrets), or remove ${set.join(', ')} to rotate without a canary.`,
    );
  }

  const projects = readProjectIds(read, 'canary-project');
  if (projects.length !== 1) {
    throw new InputError(
      'canary-project',
      `canary-project must be one project id, not ${projects.length}.`,
      'Name one non-critical project (proj_...) to activate the new CA in first; list the others in activate-projects.',
    );
  }

  const apiKey = read('canary-api-key');
  checkCanaryKey(apiKey);

  const clientCertificate = read('canary-client-certificate');
  const clientKey = read('canary-client-key');
  const chain = assertClientCertificate(
    { certificate: clientCertificate, key: clientKey, ...CERTIFICATE_INPUTS },
    { now, requireAuthorityKeyId: true },
  );

  const timeoutSeconds = readNumber(read, CANARY_TIMEOUT_INPUT, DEFAULT_CANARY_TIMEOUT_SECONDS, {
    min: 1,
    max: MAX_CANARY_TIMEOUT_SECONDS,
    integer: true,
  });
  return { projectId: projects[0]!, clientCertificate, clientKey, apiKey, timeoutMs: timeoutSeconds * 1000, chain };
}

/**
 * Checks that the canary client certificate chains to the CA being rotated in (PEM or DER), once that
 * CA is read: the last certificate of canary-client-certificate is that CA or is issued by it. Throws
 * an InputError naming canary-client-certificate otherwise.
 */
export function checkCanaryChain(canary: Canary, caPem: string | Uint8Array, now: Date): void {
  assertClientCertificate(
    { certificate: canary.clientCertificate, key: canary.clientKey, ...CERTIFICATE_INPUTS },
    { now, requireAuthorityKeyId: true, issuingCa: caPem },
  );
}

function checkCanaryKey(key: string): void {
  if (/\s/.test(key)) {
    throw new InputError(
      'canary-api-key',
      'canary-api-key contains white space or several lines.',
      'Store the key alone in the secret, with no spaces or line breaks.',
    );
  }
  if (key.startsWith('sk-admin-')) {
    throw new InputError(
      'canary-api-key',
      'canary-api-key holds an Admin API key; the proof request needs an API key of the canary project.',
      'Create an API key in the canary project (project settings → API keys) that may list models, and pass it from a secret.',
    );
  }
}
