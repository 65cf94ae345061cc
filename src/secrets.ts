import * as core from '@actions/core';

/**
 * Registers a secret with the runner's masker before it can reach any log line: the whole value
 * and every line of it, so that a multi-line secret (a PEM key) is masked wherever a line of it shows.
 * PEM armour lines (`-----BEGIN ... -----`) are left out: they are not secret, and masking them would
 * blank out harmless messages.
 */
const masked = new Set<string>();

export function maskText(secret: string): void {
  const whole = secret.trim();
  if (!whole) return;
  const parts = new Set([whole]);
  for (const line of whole.split(/\r\n|\r|\n/)) {
    const trimmed = line.trim();
    if (trimmed.length >= 8 && !/^-----(BEGIN|END) [A-Z0-9 ]+-----$/.test(trimmed)) parts.add(trimmed);
  }
  for (const part of parts)
    if (!masked.has(part)) {
      masked.add(part);
      core.setSecret(part);
    }
}
