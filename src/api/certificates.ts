import type OpenAI from 'openai';
import { explainApiError, hostOf, type CallContext } from './errors.js';

/** A certificate as a list shows it, in one scope (organization or a project). */
export interface ListedCertificate {
  id: string;
  name: string | null;
  createdAt: number;
  validAt: number | undefined;
  expiresAt: number | undefined;
  /** Active in the scope that was listed. */
  active: boolean;
}

/** A certificate as upload or retrieve returns it. */
export interface StoredCertificate {
  id: string;
  name: string | null;
  createdAt: number;
  validAt: number | undefined;
  expiresAt: number | undefined;
  content: string | undefined;
}

/** `organization` or a project id. */
export type Scope = string;
export const ORGANIZATION: Scope = 'organization';

/** The most ids OpenAI takes in one activate or deactivate call. */
const IDS_PER_CALL = 10;

/** Per-call SDK options: `maxRetries: 0` for a call whose retries the rotation logic runs itself. */
export interface CallOptions {
  maxRetries?: number;
}

/**
 * The certificate endpoints the actions use, through the official SDK, and nothing more: every failure
 * comes out as an ActionError that names the call, with the SDK's error as its `cause`. When to retry
 * and what a failure means is decided by the rotation logic (src/rotation/).
 */
export class CertificateApi {
  readonly client: OpenAI;
  readonly host: string;

  /** `proxy`: the proxy in use, named in connection errors. */
  constructor(client: OpenAI, baseURL: string, proxy?: string) {
    this.client = client;
    this.host = proxy ? `${hostOf(baseURL)} through the proxy ${proxy}` : hostOf(baseURL);
  }

  /** Every certificate of the organization, or of a project with its project-level `active`, all pages. */
  async listScope(scope: Scope): Promise<ListedCertificate[]> {
    const isOrg = scope === ORGANIZATION;
    return this.call({ action: `list the certificates of ${describeScope(scope)}`, ...(isOrg ? {} : { projectId: scope }) }, async () => {
      // Oldest first: the order the rotation logic reads as creation order.
      const query = { limit: 100, order: 'asc' } as const;
      const page = isOrg
        ? this.client.admin.organization.certificates.list(query)
        : this.client.admin.organization.projects.certificates.list(scope, query);
      const all: ListedCertificate[] = [];
      for await (const item of page) all.push(fromListed(item));
      return all;
    });
  }

  async retrieve(id: string, withContent: boolean): Promise<StoredCertificate> {
    return this.call({ action: `read certificate ${id}`, certificateId: id }, async () =>
      fromStored(await this.client.admin.organization.certificates.retrieve(id, withContent ? { include: ['content'] } : {})),
    );
  }

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

  private async call<T>(context: Omit<CallContext, 'host'>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw explainApiError(error, { host: this.host, timeoutMs: this.client.timeout, ...context });
    }
  }
}

export function describeScope(scope: Scope): string {
  return scope === ORGANIZATION ? 'the organization' : `project ${scope}`;
}

type Listed = {
  id: string;
  name: string | null;
  created_at: number;
  active: boolean;
  certificate_details: { valid_at?: number; expires_at?: number };
};
type Stored = {
  id: string;
  name: string | null;
  created_at: number;
  certificate_details: { valid_at?: number; expires_at?: number; content?: string };
};

function common(item: Stored): Omit<StoredCertificate, 'content'> {
  return {
    id: item.id,
    name: item.name ?? null,
    createdAt: item.created_at,
    validAt: item.certificate_details?.valid_at,
    expiresAt: item.certificate_details?.expires_at,
  };
}

function fromListed(item: Listed): ListedCertificate {
  return { ...common(item), active: item.active === true };
}

export function fromStored(item: Stored): StoredCertificate {
  return { ...common(item), content: item.certificate_details?.content };
}
