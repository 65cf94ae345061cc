import { InputError } from '../errors.js';
import { readConnection, type Connection } from '../inputs/connection.js';
import { readBoolean, readCertificateName, readInput, readNumber, readProjectIds, type InputReader } from '../inputs/read.js';

/** The label the tracking issue carries when issue-label is not set. */
const DEFAULT_ISSUE_LABEL = 'openai-mtls-renewal';

/** Every input of status/action.yml, parsed and validated once, by the same code as the main action's. */
export interface StatusSettings extends Connection {
  /** Watch only certificates with this name; undefined watches every certificate. */
  name: string | undefined;
  /** Projects watched besides the organization: ids, or `all` (every project that is not archived). */
  projects: string[] | 'all';
  renewWithinDays: number;
  failWithinDays: number;
  /** Open, update and close one tracking issue in the repository running the workflow. */
  openIssue: boolean;
  githubToken: string;
  /** The tracking issue's label, by which (with the marker in its body) it is found again. */
  issueLabel: string;
  /** The renewal workflow's file name (e.g. renew-mtls-ca.yml), linked from the issue; undefined: none named. */
  renewalWorkflow: string | undefined;
}

export function readStatusSettings(read: InputReader = readInput, env: NodeJS.ProcessEnv = process.env): StatusSettings {
  const days = { min: 0, max: 3650 };
  const settings: StatusSettings = {
    ...readConnection(read, env),
    name: readCertificateName(read),
    projects: read('projects').trim().toLowerCase() === 'all' ? 'all' : readProjectIds(read, 'projects'),
    renewWithinDays: readNumber(read, 'renew-within-days', 30, days),
    failWithinDays: readNumber(read, 'fail-within-days', 7, days),
    openIssue: readBoolean(read, 'open-issue', false),
    githubToken: read('github-token'),
    issueLabel: read('issue-label') || DEFAULT_ISSUE_LABEL,
    renewalWorkflow: read('renewal-workflow') || undefined,
  };
  if (settings.failWithinDays > settings.renewWithinDays) {
    throw new InputError(
      'fail-within-days',
      `fail-within-days (${settings.failWithinDays}) is greater than renew-within-days (${settings.renewWithinDays}): the step would fail before renewal is ever due.`,
      'Set fail-within-days to at most renew-within-days (the defaults are 7 and 30).',
    );
  }
  // GitHub's limit on a label's name is 50 characters; a comma would make the label filter two labels.
  if (settings.issueLabel.length > 50 || /[,\r\n]/.test(settings.issueLabel)) {
    throw new InputError(
      'issue-label',
      'issue-label must be one label name: a single line of at most 50 characters, without commas.',
      `Use a short label such as "${DEFAULT_ISSUE_LABEL}" (the default).`,
    );
  }
  if (settings.renewalWorkflow !== undefined && !/^[\w.-]+\.ya?ml$/.test(settings.renewalWorkflow)) {
    throw new InputError(
      'renewal-workflow',
      `renewal-workflow must be a workflow's file name in .github/workflows, such as renew-mtls-ca.yml, not "${settings.renewalWorkflow}".`,
      'Give the file name only (letters, digits, ".", "-", "_", ending in .yml or .yaml), or leave it empty.',
    );
  }
  if (settings.openIssue && !settings.githubToken) {
    throw new InputError(
      'github-token',
      'open-issue is true but github-token is empty.',
      'Leave github-token at its default (${{ github.token }}) and give the job `permissions: issues: write`, or pass a token that may write issues.',
    );
  }
  return settings;
}
