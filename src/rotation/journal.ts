import type { Scope, StoredCertificate } from '../api/reader.js';
import type { CanaryRecord } from './canary.js';

/**
 * What a run did, written as it goes by the code that does it, so that a failure or a cancellation half-way
 * still reports what was done, and names any write that was in flight.
 */
export class Journal {
  certificate: StoredCertificate | undefined = undefined;
  /** The copy kept is the one whose id came back to this run. */
  uploaded = false;
  /** An upload's answer was lost or unreadable: the copy kept may be this run's, or a racing run's. */
  lostAnswer = false;
  /** Identical copies this run deleted (its own, a racing run's, or an earlier run's duplicate). */
  duplicates: string[] = [];
  /** Scopes this run activated the certificate in. */
  activated: Scope[] = [];
  /** Scopes where the certificate is active after the run, as last read (or confirmed by an answer). */
  activeIn = new Set<Scope>();
  retired: Array<{ scope: Scope; id: string }> = [];
  /** Deleted by delete-expired. */
  deleted: string[] = [];
  /** Deletions the API refused because the certificate is still in use somewhere. */
  keptInUse: string[] = [];
  /** Staged rollout: how far the canary stages went, and the proof's result; undefined without a canary stage. */
  canary: CanaryRecord | undefined = undefined;
  /** Warnings the summary repeats. */
  cautions: string[] = [];
  /** Copies of the certificate whose content was compared already, by id: each is read once per run. */
  readonly knownCopies = new Map<string, StoredCertificate>();
  /** Writes under way now, in words ("upload the certificate"). */
  readonly inFlight = new Set<string>();

  /** Runs a write, named as in flight until it settles. */
  async track<T>(what: string, write: () => Promise<T>): Promise<T> {
    this.inFlight.add(what);
    try {
      return await write();
    } finally {
      this.inFlight.delete(what);
    }
  }
}
