import { MAX_NAME_LENGTH } from '../limits.js';
import * as core from '@actions/core';
import { InputError } from '../errors.js';

/** Reads one raw input by name, trimmed, as the runner passes it (`INPUT_<NAME>` with hyphens kept). */
export type InputReader = (name: string) => string;

export const readInput: InputReader = (name) => core.getInput(name);

export function readBoolean(read: InputReader, name: string, fallback: boolean): boolean {
  const raw = read(name);
  if (!raw) return fallback;
  if (/^(true|True|TRUE)$/.test(raw)) return true;
  if (/^(false|False|FALSE)$/.test(raw)) return false;
  throw new InputError(name, `${name} must be true or false, not "${raw}".`, `Set ${name}: true or ${name}: false.`);
}

export interface NumberLimits {
  min: number;
  max: number;
  integer?: boolean;
}

export function readNumber(read: InputReader, name: string, fallback: number, limits: NumberLimits): number {
  const raw = read(name);
  if (!raw) return fallback;
  const value = Number(raw);
  const ok = /^\d+(\.\d+)?$/.test(raw) && value >= limits.min && value <= limits.max && (!limits.integer || Number.isInteger(value));
  if (!ok) {
    const kind = limits.integer ? 'a whole number' : 'a number';
    throw new InputError(
      name,
      `${name} must be ${kind} from ${limits.min} to ${limits.max}, not "${raw}".`,
      `Set ${name} to ${kind} in that range, or remove it to use the default (${fallback}).`,
    );
  }
  return value;
}

const PROJECT_ID_PATTERN = /^proj_[A-Za-z0-9]+$/;

/** Project ids separated by commas or new lines, blanks and repeats dropped; each must look like proj_... */
export function readProjectIds(read: InputReader, name: string): string[] {
  const ids = [
    ...new Set(
      read(name)
        // One separator at a time: the empty strings between consecutive ones go with the blanks.
        .split(/[\s,]/)
        .filter(Boolean),
    ),
  ];
  const bad = ids.filter((id) => !PROJECT_ID_PATTERN.test(id));
  if (bad.length > 0) {
    throw new InputError(
      name,
      `Not project ids: ${bad.map((b) => `"${b}"`).join(', ')}.`,
      'List project ids (proj_...), separated by commas or new lines; find them under organization settings → Projects.',
    );
  }
  return ids;
}

/** The `name` input: a certificate's name, one line of at most 200 characters; undefined when empty. */
export function readCertificateName(read: InputReader): string | undefined {
  const name = read('name');
  if (!name) return undefined;
  if (/[\r\n]/.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new InputError(
      'name',
      `name must be a single line of at most ${MAX_NAME_LENGTH} characters.`,
      'Use a short name that identifies the authority and its generation, for example "corp-mtls-ca-2027".',
    );
  }
  return name;
}
