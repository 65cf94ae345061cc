/** How certificates, scopes and durations are named in the log, the summary and the outputs: in one place. */
import { ORGANIZATION } from './api/reader.js';

export function scopeLabel(scope: string): string {
  return scope === ORGANIZATION ? 'the organization' : `project ${scope}`;
}

export function certificateLabel(certificate: { id: string; name: string | null | undefined }): string {
  return certificate.name ? `${certificate.id} ("${certificate.name}")` : certificate.id;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A duration in words: minutes under an hour, hours under a day, else whole days (rounded down). */
export function duration(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 60) return plural(minutes, 'minute');
  if (minutes < 24 * 60) return plural(Math.floor(minutes / 60), 'hour');
  return plural(Math.floor(minutes / (24 * 60)), 'day');
}
