/**
 * The words both actions use for the same things: a scope, a certificate, a length of time. One place,
 * so that a log line, an annotation and a summary name a thing the same way.
 */
import { ORGANIZATION, type Scope } from './api/reader.js';
import { DAY_MS } from './time.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** `the organization`, or `project proj_x`. */
export function scopeLabel(scope: Scope): string {
  return scope === ORGANIZATION ? 'the organization' : `project ${scope}`;
}

/** `cert_x ("name")`, or just `cert_x` when the certificate has no name. */
export function certificateLabel(certificate: { id: string; name?: string | null | undefined }): string {
  return certificate.name ? `${certificate.id} ("${certificate.name}")` : certificate.id;
}

/** `1 minute`, `2 hours`: a count and its unit, singular or plural as the count wants. */
function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * A length of time in the largest whole unit that fits, rounded down: minutes under an hour, hours under
 * a day, days from a day on ("45 minutes", "1 hour", "3 days"); under a minute, "less than a minute".
 * The sign is ignored: the caller says whether it is ahead ("in …") or past ("… ago").
 */
export function duration(ms: number): string {
  const length = Math.abs(ms);
  if (length < MINUTE_MS) return 'less than a minute';
  if (length < HOUR_MS) return count(Math.floor(length / MINUTE_MS), 'minute');
  if (length < DAY_MS) return count(Math.floor(length / HOUR_MS), 'hour');
  return count(Math.floor(length / DAY_MS), 'day');
}

/** A time limit in seconds: `60 s`, `1.5 s`. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
