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

/** Per-call SDK options: `maxRetries: 0` for a call whose retries the rotation logic runs itself. */
export interface CallOptions {
  maxRetries?: number;
}

/**
 * What the actions read, through the official SDK, and nothing more: every failure comes out as an
 * ActionError that names the call, with the SDK's error as its `cause`. The status action uses only this
 * class, so its bundle holds no code that writes; CertificateApi (certificates.ts) adds the writes.
 */
export class CertificateReader {
  readonly client: OpenAI;
  readonly host: string;
  readonly projectInput: string;

  /** `proxy`: the proxy in use, named in connection errors; `projectInput`: the input project ids come from. */
  constructor(client: OpenAI, baseURL: string, proxy?: string, projectInput = 'activate-projects') {
    this.client = client;
    this.host = proxy ? `${hostOf(baseURL)} through the proxy ${proxy}` : hostOf(baseURL);
    this.projectInput = projectInput;
  }

  /** The ids of the organization's projects that are not archived, every page. */
  async listProjects(): Promise<string[]> {
    return this.call(
      { action: 'list the projects of the organization', permission: 'read access to projects (the Projects permission)' },
      async () => {
        const ids: string[] = [];
        for await (const project of this.client.admin.organization.projects.list({ limit: 100 })) {
          if (project.status !== 'archived' && !project.archived_at) ids.push(project.id);
        }
        return ids;
      },
    );
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

  protected async call<T>(context: Omit<CallContext, 'host'>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw explainApiError(error, { host: this.host, timeoutMs: this.client.timeout, projectInput: this.projectInput, ...context });
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
