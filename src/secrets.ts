import * as core from '@actions/core';
import { registerSecret } from './text.js';

const ARMOUR = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/;

/**
 * What is registered with the masker for one secret: the whole value, trimmed, and every line of it of 8
 * characters or more, so that a multi-line secret (a PEM key) is masked wherever one of its lines shows.
 * PEM armour lines (`-----BEGIN ... -----`) are left out: they are not secret, and masking them would
 * blank out harmless messages. Shorter lines (the tail of the base64, a few bytes) are left out too:
 * masking such short strings would blank ordinary words in the log.
 */
export function secretParts(secret: string): string[] {
  const whole = secret.trim();
  if (!whole) return [];
  const parts = new Set([whole]);
  for (const line of whole.split(/\r\n|\r|\n/)) {
    const trimmed = line.trim();
    if (trimmed.length >= 8 && !ARMOUR.test(trimmed)) parts.add(trimmed);
  }
  return [...parts];
}

const masked = new Set<string>();

/**
 * Registers a secret, each part once, before it can reach any log line: with the runner's masker (which
 * hides it in the log) and with `redact` in text.ts (which removes it from everything the action writes
 * itself: log lines, annotations, the job summary, outputs and the pull-request comment, which the runner
 * does not mask, and before any cut, which the masker cannot see through).
 */
export function maskText(secret: string): void {
  for (const part of secretParts(secret))
    if (!masked.has(part)) {
      masked.add(part);
      registerSecret(part);
      core.setSecret(part);
    }
}
