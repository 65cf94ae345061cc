/**
 * Seeded rounds, for the suite in test/rounds/ (`npm run test:rounds`, vitest.rounds.config.ts): how many
 * rounds a test runs, and a pool that runs independent rounds a few at a time, each on its own emulator,
 * and fails naming every seed that failed.
 *
 * - `ROUNDS=n` runs n rounds of each test instead of 20 (a quick local look); CI runs the default.
 * - `ROUND_SEED=s` runs only the round with seed s, in the tests whose seeds include it (a replay).
 *
 * Either makes the cross-round checks (a fault fired in some round, runs raced in some round) moot, so
 * those apply only when every round ran (`ALL_ROUNDS`); each round's own checks always apply.
 */
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { roundSeeds } from './race.ts';

/** Issue 21: at least 20 seeded rounds of each scenario. */
const DEFAULT_ROUNDS = 20;

function whole(name: string, raw: string): number {
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${name} must be a positive whole number, not "${raw}"`);
  return Number(raw);
}

function fromEnv(env: NodeJS.ProcessEnv): { rounds: number; only: number | undefined } {
  const rounds = env.ROUNDS ? whole('ROUNDS', env.ROUNDS) : DEFAULT_ROUNDS;
  const only = env.ROUND_SEED ? whole('ROUND_SEED', env.ROUND_SEED) : undefined;
  if ((env.ROUNDS || env.ROUND_SEED) && env.CI) throw new Error('ROUNDS and ROUND_SEED are for local runs: CI runs every round.');
  return { rounds, only };
}

const chosen = fromEnv(process.env);

/** Every round of every test runs: neither ROUNDS (fewer) nor ROUND_SEED is set. */
export const ALL_ROUNDS = chosen.rounds >= DEFAULT_ROUNDS && chosen.only === undefined;

/** The seeds of a test's rounds: base, base+1, ... (ROUNDS of them), or only ROUND_SEED when it is one of them. */
export function seedsFrom(base: number): number[] {
  const seeds = roundSeeds(Math.max(chosen.rounds, DEFAULT_ROUNDS), base);
  if (chosen.only !== undefined) return seeds.includes(chosen.only) ? [chosen.only] : [];
  return seeds.slice(0, chosen.rounds);
}

/** At most `size` tasks at once, across every caller that shares it (e.g. the tests of one file). */
export interface Slots {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function slots(size: number): Slots {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    async run(task) {
      if (free > 0) free--;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else free++;
      }
    },
  };
}

/**
 * Runs `round(seed)` for every seed, at most `inFlight` at once (a number, or slots shared with other
 * tests), and waits for all of them. When any failed, throws the error of the lowest failed seed, its
 * message led by every failed seed, so that each can be replayed with ROUND_SEED.
 */
export async function inRounds<T>(seeds: readonly number[], inFlight: number | Slots, round: (seed: number) => Promise<T>): Promise<T[]> {
  const pool = typeof inFlight === 'number' ? slots(inFlight) : inFlight;
  const settled = await Promise.allSettled(seeds.map((seed) => pool.run(() => round(seed))));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ seed: seeds[i]!, error: s.reason as unknown }] : []));
  if (failed.length > 0) {
    const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    const list = failed
      .map((f) => firstLine(f.error))
      .map((line, i) => `  ${line.startsWith(`seed ${failed[i]!.seed}`) ? '' : `seed ${failed[i]!.seed}: `}${line}`)
      .join('\n');
    const lead = `${failed.length} of ${seeds.length} rounds failed (replay one with ROUND_SEED=<seed>):\n${list}\nThe first, seed ${failed[0]!.seed}:\n`;
    const first = failed[0]!.error;
    if (first instanceof Error) {
      first.message = lead + first.message;
      throw first;
    }
    throw new Error(lead + String(first));
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Starts an emulator for one round, hands it to `body`, and closes it however the round ends. */
export async function onEmulator<T>(options: EmulatorOptions, body: (emu: Emulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator(options);
  try {
    return await body(emu);
  } finally {
    await emu.close();
  }
}
