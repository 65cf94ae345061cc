import {
  CertificateReader,
  ORGANIZATION,
  describeScope,
  fromStored,
  type CallOptions,
  type Scope,
  type StoredCertificate,
} from './reader.js';

/** The most ids OpenAI takes in one activate or deactivate call. */
const IDS_PER_CALL = 10;

/**
 * The certificate endpoints the main action uses: the reads of CertificateReader, and the writes. When
 * to retry and what a failure means is decided by the rotation logic (src/rotation/).
 */
export class CertificateApi extends CertificateReader {
  async create(pem: string, name: string | undefined, options: CallOptions = {}): Promise<StoredCertificate> {
    return this.call({ action: 'upload the certificate' }, async () =>
      fromStored(await this.client.admin.organization.certificates.create({ certificate: pem, ...(name ? { name } : {}) }, options)),
    );
  }

  /** Activates or deactivates ids in one scope, in calls of at most 10 ids. */
  async toggle(scope: Scope, ids: string[], activate: boolean, options: CallOptions = {}): Promise<void> {
    const verb = activate ? 'activate' : 'deactivate';
    const send: (certificate_ids: string[]) => Promise<unknown> =
      scope === ORGANIZATION
        ? async (certificate_ids) => this.client.admin.organization.certificates[verb]({ certificate_ids }, options)
        : async (certificate_ids) => this.client.admin.organization.projects.certificates[verb](scope, { certificate_ids }, options);
    for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
      const certificate_ids = ids.slice(i, i + IDS_PER_CALL);
      const context = {
        action: `${verb} ${certificate_ids.join(', ')} for ${describeScope(scope)}`,
        ...(scope === ORGANIZATION ? {} : { projectId: scope }),
        ...(certificate_ids.length === 1 ? { certificateId: certificate_ids[0] } : {}),
      };
      await this.call(context, () => send(certificate_ids));
    }
  }

  async delete(id: string, options: CallOptions = {}): Promise<void> {
    await this.call({ action: `delete certificate ${id}`, certificateId: id }, () =>
      this.client.admin.organization.certificates.delete(id, options),
    );
  }
}
