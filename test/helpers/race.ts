/**
 * A seeded race harness for end-to-end tests over the compiled action: N runs started at seeded offsets
 * (optionally in waves) against one emulator, each run's exit code, outputs and log collected, and the
 * emulator's final state read per scope. The same seed gives the same start offsets, so a failing round
 * can be replayed with its seed (the interleaving itself still depends on the machine's scheduling; a
 * seeded `latency` on the emulator narrows it further).
 *
 * The randomness is the emulator's own seeded PRNG (`seededRandom`, mulberry32), so a harness seed and
 * an emulator `latency.seed` are drawn the same way.
 */
import type { ChildProcess } from 'node:child_process';
import type { Emulator, StoredCertificate } from '../emulator/emulator.ts';
import { seededRandom } from '../emulator/emulator.ts';
import {
  actionYml,
  DIST,
  runAction,
  runStatusAction,
  spawnCompiled,
  statusActionYml,
  STATUS_DIST,
  type ActionRun,
  type RunOptions,
  type SpawnedRun,
} from './action.ts';

export { seededRandom };

export interface RacePlan {
  /** How many runs. */
  runs: number;
  /** Seed of the start offsets. */
  seed: number;
  /** Each run starts at a random offset in [0, spreadMs] after its wave starts. Default 0: all at once. */
  spreadMs?: number;
  /** Runs are dealt round-robin into this many waves (run i → wave i % waves). Default 1. */
  waves?: number;
  /** Wave w starts w × waveGapMs after the first. Default 1000. */
  waveGapMs?: number;
  /** Which action each run is: `main` (action.yml, default) or `status` (status/action.yml). */
  action?: 'main' | 'status' | ((index: number) => 'main' | 'status');
  /** Per-run options for runAction (env, timeoutMs, files...). Default timeout 60 s per run. */
  options?: RunOptions | ((index: number) => RunOptions);
}

interface RaceRun {
  index: number;
  wave: number;
  /** Planned start, ms after the race began. */
  offsetMs: number;
  /** Actual start and end, ms after the race began. */
  startedMs: number;
  endedMs: number;
  /** The finished run; absent when runAction itself failed (e.g. the run did not end in time). */
  run?: ActionRun;
  /** Why runAction failed, when it did. */
  error?: string;
  /** Convenience copies of the run's result (null / {} / '' when it did not finish). */
  code: number | null;
  outputs: Record<string, string>;
  log: string;
}

export interface RaceResult {
  seed: number;
  runs: RaceRun[];
  /** One line per run (index, wave, offset, exit code, a few outputs): for assertion messages. */
  describe(): string;
}

/** The planned start offsets (ms) and waves of a plan: a pure function of the plan. */
export function startOffsets(plan: RacePlan): Array<{ offsetMs: number; wave: number }> {
  const random = seededRandom(plan.seed);
  const waves = Math.max(1, plan.waves ?? 1);
  const gap = plan.waveGapMs ?? 1000;
  const spread = plan.spreadMs ?? 0;
  return Array.from({ length: plan.runs }, (_, i) => {
    const wave = i % waves;
    return { wave, offsetMs: wave * gap + Math.floor(random() * (spread + 1)) };
  });
}

/**
 * Starts `plan.runs` runs of the compiled action, run i with `inputsFor(i)`, each at its seeded offset,
 * and resolves when every one has ended (a run that fails to end is reported in `error`, not thrown).
 */
export async function race(inputsFor: (index: number) => Record<string, string>, plan: RacePlan): Promise<RaceResult> {
  const starts = startOffsets(plan);
  const began = Date.now();
  const runs = await Promise.all(
    starts.map(async ({ offsetMs, wave }, index): Promise<RaceRun> => {
      const wait = offsetMs - (Date.now() - began);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const startedMs = Date.now() - began;
      const kind = typeof plan.action === 'function' ? plan.action(index) : (plan.action ?? 'main');
      const options = typeof plan.options === 'function' ? plan.options(index) : (plan.options ?? {});
      const start = kind === 'status' ? runStatusAction : runAction;
      try {
        const run = await start(inputsFor(index), options);
        return {
          index,
          wave,
          offsetMs,
          startedMs,
          endedMs: Date.now() - began,
          run,
          code: run.code,
          outputs: run.outputs,
          log: `${run.stdout}${run.stderr}`,
        };
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        return { index, wave, offsetMs, startedMs, endedMs: Date.now() - began, error, code: null, outputs: {}, log: error };
      }
    }),
  );
  return {
    seed: plan.seed,
    runs,
    describe: () =>
      [
        `seed ${plan.seed}:`,
        ...runs.map(
          (r) =>
            `  run ${r.index} (wave ${r.wave}, +${r.offsetMs} ms, ran ${r.startedMs}-${r.endedMs} ms): ` +
            (r.error
              ? `did not finish: ${r.error.split('\n')[0]}`
              : `exit ${r.code}, certificate-id=${r.outputs['certificate-id'] ?? ''}, uploaded=${r.outputs['uploaded'] ?? ''}, ` +
                `activated=${r.outputs['activated'] ?? ''}, retired=${r.outputs['retired'] ?? ''}, deleted=${r.outputs['deleted'] ?? ''}`),
        ),
      ].join('\n'),
  };
}

/** Seeds for `rounds` rounds starting at `base`: base, base+1, ... (so a failing round is named by its seed). */
export function roundSeeds(rounds: number, base = 1): number[] {
  return Array.from({ length: rounds }, (_, i) => base + i);
}

// ---------------------------------------------------------------------------------------------------
// The emulator's final state
// ---------------------------------------------------------------------------------------------------

/** Upper-case hex without separators, so openssl's and Node's fingerprint spellings compare equal. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

/** Every stored copy of the certificate with this SHA-256 fingerprint, in the emulator's insertion order. */
export function copiesOf(emu: Emulator, fingerprint: string): StoredCertificate[] {
  const wanted = normalizeFingerprint(fingerprint);
  return emu.certificates.filter((c) => normalizeFingerprint(c.fingerprint) === wanted);
}

/** The certificates active in a scope ('organization' or a project id). */
function activeCertificates(emu: Emulator, scope: string): StoredCertificate[] {
  return emu.certificates.filter((c) => (scope === 'organization' ? c.activeOrg : c.activeProjects.has(scope)));
}

/** Valid at `atMs` (default now) by the certificate's own dates. */
function validAt(c: StoredCertificate, atMs = Date.now()): boolean {
  return c.valid_at * 1000 <= atMs && atMs < c.expires_at * 1000;
}

export interface ScopeState {
  /** Ids active in the scope, in insertion order. */
  active: string[];
  /** Normalized fingerprints of those, same order. */
  fingerprints: string[];
  /** How many of them are valid now. */
  validNow: number;
}

/** Per scope: what is active there, by id and fingerprint, and how much of it is valid now. */
export function stateOf(emu: Emulator, scopes: readonly string[]): Record<string, ScopeState> {
  const out: Record<string, ScopeState> = {};
  for (const scope of scopes) {
    const active = activeCertificates(emu, scope);
    out[scope] = {
      active: active.map((c) => c.id),
      fingerprints: active.map((c) => normalizeFingerprint(c.fingerprint)),
      validNow: active.filter((c) => validAt(c)).length,
    };
  }
  return out;
}

/** Stored copies per fingerprint (normalized), for "exactly one copy" checks. */
export function copyCounts(emu: Emulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of emu.certificates) {
    const f = normalizeFingerprint(c.fingerprint);
    out[f] = (out[f] ?? 0) + 1;
  }
  return out;
}

export interface ScopeExpectation {
  /** Fingerprints that must be active in the scope (e.g. the newer of two racing CAs). */
  mustInclude?: string[];
  /**
   * The acceptable sets of active fingerprints (order ignored), e.g. `[[newer], [older, newer]]` for
   * "what a sequential run leaves, or both". Any set when omitted.
   */
  allowed?: string[][];
  /** At least one active certificate valid now (by its own dates). Default true. */
  validNow?: boolean;
}

/**
 * What is wrong with each scope's final state, one sentence per problem (empty when nothing is): for
 * `expect(scopeProblems(...), result.describe()).toEqual([])` after a race.
 */
export function scopeProblems(emu: Emulator, expectations: Record<string, ScopeExpectation>): string[] {
  const problems: string[] = [];
  const setKey = (fingerprints: readonly string[]): string => [...new Set(fingerprints.map(normalizeFingerprint))].sort().join(',');
  for (const [scope, want] of Object.entries(expectations)) {
    const state = stateOf(emu, [scope])[scope] as ScopeState;
    const shown = state.fingerprints.map((f) => f.slice(0, 12)).join(', ') || 'nothing';
    if ((want.validNow ?? true) && state.validNow === 0) problems.push(`${scope}: no active certificate valid now (active: ${shown})`);
    for (const f of want.mustInclude ?? []) {
      if (!state.fingerprints.includes(normalizeFingerprint(f))) {
        problems.push(`${scope}: ${normalizeFingerprint(f).slice(0, 12)} is not active (active: ${shown})`);
      }
    }
    if (want.allowed && !want.allowed.some((set) => setKey(set) === setKey(state.fingerprints))) {
      problems.push(`${scope}: active set (${shown}) is none of the allowed ones`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// A run that a test can signal
// ---------------------------------------------------------------------------------------------------

export interface StartedRun {
  /** The child process of the compiled action. */
  child: ChildProcess;
  /** Sends a signal to the run (SIGINT, SIGTERM, as the runner does when a job is cancelled); returns when sent. */
  signal(signal: NodeJS.Signals): number;
  /** The finished run, with `signalledMs`: ms from the (first) signal to the end, when one was sent. */
  done: Promise<ActionRun & { signalledMs: number | undefined }>;
}

/**
 * Starts the compiled main action the way `runAction` does (action.yml's defaults, INPUT_ variables,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), but hands back the child so that a test can signal it.
 */
export function startAction(
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): StartedRun {
  return signallable(spawnCompiled(actionYml, DIST, inputs, options));
}

/** The same for the compiled status action (status/action.yml), as `runStatusAction` starts it. */
export function startStatusAction(
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): StartedRun {
  return signallable(spawnCompiled(statusActionYml, STATUS_DIST, inputs, options));
}

function signallable({ child, done }: SpawnedRun): StartedRun {
  let signalledAt: number | undefined;
  return {
    child,
    signal(signal) {
      signalledAt ??= Date.now();
      child.kill(signal);
      return signalledAt;
    },
    done: done.then((run) => ({ ...run, signalledMs: signalledAt === undefined ? undefined : run.ended - signalledAt })),
  };
}

/** Resolves once `predicate` holds (checked every 10 ms), or rejects after `timeoutMs` with `what`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
