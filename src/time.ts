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
