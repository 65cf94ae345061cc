import { IDS_PER_CALL } from '../limits.js';
import { scopeLabel } from '../wording.js';
import { unreadableAnswer } from './errors.js';
import {
  CertificateReader,
  ORGANIZATION,
  parseListed,
  parseStored,
  type CallOptions,
  type Scope,
  type StoredCertificate,
} from './reader.js';

/**
 * The certificate endpoints the main action uses: the reads of CertificateReader, and the writes. Every
 * answer is checked: an upload must return a certificate with an id; an activation or deactivation is
 * confirmed only for the ids its answer lists in the new state. When to retry and what a failure means is
 * decided by the rotation logic (src/rotation/).
 */
export class CertificateApi extends CertificateReader {
  /** Uploads the certificate. An answer that is not a certificate is an `unreadable` error that may have been stored. */
  async create(pem: string, name: string | undefined, options: CallOptions = {}): Promise<StoredCertificate> {
    const context = this.context({ action: 'upload the certificate' });
    const answer = await this.answer(
      context,
      () => this.client.admin.organization.certificates.create({ certificate: pem, ...(name ? { name } : {}) }, options),
      true,
    );
    const stored = parseStored(answer.json);
    if (!stored) throw unreadableAnswer(context, answer.status, 'its answer is not a certificate (no "id" and "created_at")', true);
    return stored;
  }

  /**
   * Activates ids in one scope, in calls of at most 10 ids. Returns the ids the answers
   * confirm (listed with `active` as asked); an answer that cannot be read confirms nothing, and the caller
   * reads the scope back to learn what happened.
   */
  async activate(scope: Scope, ids: string[], options: CallOptions = {}): Promise<Set<string>> {
    return this.toggle(scope, ids, { ...options, activate: true });
  }

  async deactivate(scope: Scope, ids: string[], options: CallOptions = {}): Promise<Set<string>> {
    return this.toggle(scope, ids, { ...options, activate: false });
  }

  private async toggle(scope: Scope, ids: string[], how: CallOptions & { activate: boolean }): Promise<Set<string>> {
    const { activate, ...options } = how;
    const verb = activate ? 'activate' : 'deactivate';
    const confirmed = new Set<string>();
    for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
      const certificate_ids = ids.slice(i, i + IDS_PER_CALL);
      const context = this.context({
        action: `${verb} ${certificate_ids.join(', ')} for ${scopeLabel(scope)}`,
        ...(scope === ORGANIZATION ? {} : { projectId: scope }),
        ...(certificate_ids.length === 1 ? { certificateId: certificate_ids[0] } : {}),
      });
      const send = () =>
        scope === ORGANIZATION
          ? this.client.admin.organization.certificates[verb]({ certificate_ids }, options)
          : this.client.admin.organization.projects.certificates[verb](scope, { certificate_ids }, options);
      let json: unknown;
      try {
        json = (await this.answer(context, send, true)).json;
      } catch (error) {
        if ((error as { kind?: string }).kind === 'unreadable') continue;
        throw error;
      }
      const data = (json as { data?: unknown } | null)?.data;
      if (!Array.isArray(data)) continue;
      for (const item of data) {
        const listed = parseListed(item);
        if (listed && listed.active === activate && certificate_ids.includes(listed.id)) confirmed.add(listed.id);
      }
    }
    return confirmed;
  }

  /** Deletes a certificate. An answer that cannot be read is an `unreadable` error that may have been applied. */
  async delete(id: string, options: CallOptions = {}): Promise<void> {
    const context = this.context({ action: `delete certificate ${id}`, certificateId: id });
    const answer = await this.answer(context, () => this.client.admin.organization.certificates.delete(id, options), true);
    const deleted = answer.json as { id?: unknown } | null;
    if (typeof deleted !== 'object' || deleted === null || deleted.id !== id)
      throw unreadableAnswer(context, answer.status, `its answer does not name ${id} as deleted`, true);
  }
}
