import { DEFAULT_ADMIN_KEY } from '../emulator/emulator.ts';
import type { Settings } from '../../src/inputs/settings.ts';
import { InputError } from '../../src/errors.ts';

/** The main action's settings as readSettings gives them with every input at its default, against `baseURL`. */
export function settingsFor(baseURL: string, overrides: Partial<Settings> = {}): Settings {
  return {
    adminApiKey: DEFAULT_ADMIN_KEY,
    source: { kind: 'inline', text: '' },
    name: 'corp',
    baseURL,
    maxRetries: 0,
    timeoutMs: 5000,
    dryRun: false,
    strict: true,
    minValidityDays: 1,
    warnValidityDays: 30,
    activateOrganization: false,
    activateProjects: [],
    retirePrevious: false,
    reuseExisting: true,
    deleteExpired: false,
    clientCertificate: undefined,
    clientKey: undefined,
    mtlsBaseURL: baseURL,
    githubToken: '',
    commentOnPr: false,
    ...overrides,
  };
}

/** The InputError `read` throws; fails the test when it throws nothing or something else. */
export function inputErrorOf(read: () => unknown): InputError {
  try {
    read();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw new Error(`expected an InputError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

/** An input reader over fixed values: what core.getInput gives, '' for what is not set. */
export const reader =
  (values: Record<string, string>) =>
  (name: string): string =>
    values[name] ?? '';
