/**
 * Observe: read the organization and the scopes a rotation concerns into one state value, before anything
 * is decided or written. Reads only.
 */
import type { CertificateReader, ListedCertificate, Scope, StoredCertificate } from '../api/reader.js';
import { ORGANIZATION } from '../api/reader.js';
import type { CertificateInfo } from '../certificate/inspect.js';
import { READ_CONCURRENCY } from '../limits.js';
import type { Logger } from '../log.js';
import { deletable, type Request, type State } from './decide.js';
import { findCopies } from './identical.js';

export interface Observed {
  certificate: CertificateInfo;
  existing: StoredCertificate | undefined;
}

/**
 * One list of the organization and one of each requested project (which also proves the project exists),
 * the content of any certificate that may be a copy of this one, and, when delete-expired has candidates,
 * every other project of the organization, so that "inactive everywhere" is read, not assumed.
 */
export async function observe(api: CertificateReader, request: Request & { now: Date; log: Logger }, subject: Observed): Promise<State> {
  const [organization, projects] = await Promise.all([api.listScope(ORGANIZATION), readProjects(api, request.activateProjects)]);
  // Copies matter only when one may be reused; with reuse-existing off, the run uploads its own copy and reads none.
  const identical = request.reuseExisting ? await findCopies(api, subject.certificate, organization) : [];
  const state: State = { ...subject, organization, projects, allProjectsRead: false, identical };
  const keep = new Set([...identical.map((c) => c.id), ...(subject.existing ? [subject.existing.id] : [])]);
  if (request.deleteExpired && deletable(state, keep, request.now).length > 0) {
    try {
      const all = await api.listProjects();
      const others = all.filter((id) => !request.activateProjects.includes(id));
      state.projects = [...projects, ...(await readProjects(api, others))];
      state.allProjectsRead = true;
      request.log.info(`delete-expired: read ${all.length} project(s), to delete only certificates active in none of them.`);
    } catch (error) {
      request.log.info(
        `delete-expired: could not read every project (${(error as Error).message}); a certificate still active in one is kept, as OpenAI refuses to delete it.`,
      );
    }
  }
  return state;
}

async function readProjects(api: CertificateReader, ids: string[]): Promise<Array<[Scope, ListedCertificate[]]>> {
  return api.listProjectScopes(ids, READ_CONCURRENCY);
}
