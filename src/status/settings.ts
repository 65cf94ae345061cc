import { InputError } from '../errors.js';
import { readConnection, type Connection } from '../inputs/connection.js';
import { readCertificateName, readInput, readNumber, readProjectIds, type InputReader } from '../inputs/read.js';

/** Every input of status/action.yml, parsed and validated once, by the same code as the main action's. */
export interface StatusSettings extends Connection {
  /** Watch only certificates with this name; undefined watches every certificate. */
  name: string | undefined;
  /** Projects watched besides the organization: ids, or `all` (every project that is not archived). */
  projects: string[] | 'all';
  renewWithinDays: number;
  failWithinDays: number;
}

export function readStatusSettings(read: InputReader = readInput, env: NodeJS.ProcessEnv = process.env): StatusSettings {
  const days = { min: 0, max: 3650 };
  const settings: StatusSettings = {
    ...readConnection(read, env),
    name: readCertificateName(read),
    projects: read('projects').trim().toLowerCase() === 'all' ? 'all' : readProjectIds(read, 'projects'),
    renewWithinDays: readNumber(read, 'renew-within-days', 30, days),
    failWithinDays: readNumber(read, 'fail-within-days', 7, days),
  };
  if (settings.failWithinDays > settings.renewWithinDays) {
    throw new InputError(
      'fail-within-days',
      `fail-within-days (${settings.failWithinDays}) is greater than renew-within-days (${settings.renewWithinDays}): the step would fail before renewal is ever due.`,
      'Set fail-within-days to at most renew-within-days (the defaults are 7 and 30).',
    );
  }
  return settings;
}
