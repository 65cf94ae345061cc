import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PRELOAD = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixed-clock.mjs')).href;

/**
 * The environment that holds a compiled action's clock at `ms` (milliseconds since the epoch) for the
 * whole run, through a preloaded module (fixed-clock.mjs): for a test on a bound to the second, which
 * the time passing between making a certificate and checking it would otherwise move.
 */
export function fixedClockEnv(ms: number): Record<string, string> {
  return { NODE_OPTIONS: `--import ${PRELOAD}`, FIXED_NOW_MS: String(ms) };
}
