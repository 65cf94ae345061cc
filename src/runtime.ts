/**
 * What both actions share at run time: the replaceable clock and sleep, turning an error into a failed
 * step, saying notices and warnings about the inputs, and writing the outputs and the job summary.
 */
import * as core from '@actions/core';
import { ActionError } from './errors.js';
import type { Advisory } from './inputs/connection.js';
import { oneLine, redact } from './text.js';

/** What tests replace: the clock, the sleep between retries and the jitter. */
export interface RunDependencies {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const defaultDependencies: RunDependencies = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * Turns an error into a failed step: an error annotation with its hint (titled by the input, check or
 * step it concerns) and exit code 1, never a stack trace unless debug logging is on. Returns the failure
 * in words, for the job summary.
 */
export function failRun(error: unknown): string {
  let failure: string;
  if (error instanceof ActionError) {
    failure = error.message;
    core.error(error.annotation, error.title ? { title: error.title } : {});
    process.exitCode = core.ExitCode.Failure;
  } else {
    const message = error instanceof Error ? error.message : String(error);
    failure = `unexpected error: ${message}`;
    core.setFailed(
      `Unexpected error: ${message}. Please report this at the action's issue tracker with the log of a run with debug logging on.`,
    );
  }
  if (core.isDebug() && error instanceof Error && error.stack) core.debug(error.stack);
  return failure;
}

/**
 * Sets every output (all strings), so later steps and jobs can rely on each being set, on failure too.
 * Values are redacted and kept on one line (`oneLine` in text.ts): a certificate name is outside text,
 * and later steps often paste outputs into commands and files.
 */
export function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, oneLine(value));
}

/**
 * Appends the job summary; a summary that cannot be written is a warning, never a failure. The whole
 * summary is redacted first, as a last line of defence (its outside text is escaped where it is made).
 */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(redact(markdown), true).write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${(error as Error).message}`);
  }
}

/** Says each advisory as an annotation titled by what it is about; returns the warnings' texts, for the summary. */
export function announce(advisories: Advisory[]): string[] {
  for (const { level, title, message } of advisories) core[level](message, { title });
  return advisories.filter((a) => a.level === 'warning').map((a) => a.message);
}
