/** Time as the API and the outputs give it: unix seconds, whole days, ISO 8601 without milliseconds. */

export const DAY_MS = 86_400_000;

/** A date as unix seconds, rounded down (the API's `created_at`, `valid_at`, `expires_at`). */
export function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Whole days from `now` until `unixSeconds`, rounded down (negative once it has passed). */
export function daysUntil(unixSeconds: number, now: Date): number {
  return Math.floor((unixSeconds * 1000 - now.getTime()) / DAY_MS);
}

/** `2027-11-28T22:25:18Z`: RFC 3339 UTC, without milliseconds. */
export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The API's clock as its `Date` headers give it: the API's time and the runner's at the same moment (ms). */
export interface ClockPair {
  api: number;
  local: number;
}

/**
 * The clock the time decisions use (expired, valid yet, days left, renewal due): the runner's, or the API's
 * when the two differ by more than `maxSkewMs` (a self-hosted runner's clock that drifted). `skewMs`: the
 * API's clock minus the runner's, when known.
 */
export function decisionClock(
  local: () => Date,
  reading: ClockPair | undefined,
  maxSkewMs: number,
): { now: () => Date; skewMs: number | undefined; usesApi: boolean } {
  if (!reading) return { now: local, skewMs: undefined, usesApi: false };
  const skewMs = reading.api - reading.local;
  if (Math.abs(skewMs) <= maxSkewMs) return { now: local, skewMs, usesApi: false };
  return { now: () => new Date(local().getTime() + skewMs), skewMs, usesApi: true };
}
