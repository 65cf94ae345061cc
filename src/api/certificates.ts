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
export const IDS_PER_CALL = 10;

/**
 * The certificate endpoints the action uses, through the official SDK. Every failure comes out as an
 * ActionError that names the call. Upload is separate (see upload.ts): it must never be retried blindly.
 */
export class CertificateApi {
  readonly client: OpenAI;
  readonly host: string;

  /** `proxy`: the proxy in use, named in connection errors. */
  constructor(client: OpenAI, baseURL: string, proxy?: string) {
    this.client = client;
    this.host = proxy ? `${hostOf(baseURL)} through the proxy ${proxy}` : hostOf(baseURL);
  }

  async listScope(scope: Scope): Promise<ListedCertificate[]> {
    const isOrg = scope === ORGANIZATION;
    return this.call({ action: `list the certificates of ${describeScope(scope)}`, ...(isOrg ? {} : { projectId: scope }) }, async () => {
      const page = isOrg
        ? this.client.admin.organization.certificates.list({ limit: 100 })
        : this.client.admin.organization.projects.certificates.list(scope, { limit: 100 });
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

  /** Activates or deactivates ids in one scope, in calls of at most 10 ids. */
  async toggle(scope: Scope, ids: string[], activate: boolean): Promise<void> {
    const isOrg = scope === ORGANIZATION;
    const verb = activate ? 'activate' : 'deactivate';
    for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
      const certificate_ids = ids.slice(i, i + IDS_PER_CALL);
      const context: CallContext = {
        action: `${verb} ${certificate_ids.join(', ')} for ${describeScope(scope)}`,
        host: this.host,
        ...(isOrg ? {} : { projectId: scope }),
        ...(certificate_ids.length === 1 ? { certificateId: certificate_ids[0] } : {}),
      };
      await this.call(context, async () => {
        const resource = isOrg ? this.client.admin.organization.certificates : null;
        const projects = this.client.admin.organization.projects.certificates;
        if (resource) await (activate ? resource.activate({ certificate_ids }) : resource.deactivate({ certificate_ids }));
        else await (activate ? projects.activate(scope, { certificate_ids }) : projects.deactivate(scope, { certificate_ids }));
      });
    }
  }

  async delete(id: string): Promise<void> {
    await this.call({ action: `delete certificate ${id}`, certificateId: id }, () =>
      this.client.admin.organization.certificates.delete(id),
    );
  }

  async call<T>(context: Omit<CallContext, 'host'> & { host?: string }, fn: () => Promise<T>): Promise<T> {
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

export function fromListed(item: Listed): ListedCertificate {
  return { ...common(item), active: item.active === true };
}

export function fromStored(item: Stored): StoredCertificate {
  return { ...common(item), content: item.certificate_details?.content };
}
