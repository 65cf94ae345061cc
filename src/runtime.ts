/**
 * The one skeleton both actions run on, as actions/cache shares its run logic: mask, read settings, run,
 * report, fail. Each entry says only what differs. A run never throws: failures set `process.exitCode`
 * (as core.setFailed does), so that the runner and @github/local-action both see a failed run as failed;
 * the outputs and the job summary are written in every case, on SIGINT and SIGTERM too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as core from '@actions/core';
import type { Advisory } from './advisory.js';
import { ApiError } from './api/errors.js';
import { ActionError } from './errors.js';
import { actionsLogger, type Logger } from './log.js';
import { oneLine, redact } from './text.js';

/** What tests replace: the clock, the sleep between retries and the jitter. */
export interface RunDependencies {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

const defaultDependencies: RunDependencies = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** One action, as the skeleton runs it. */
export interface ActionEntry<S> {
  /** Registers every secret with the masker, before anything is logged. */
  mask: () => void;
  readSettings: () => S;
  execute: (settings: S, context: { deps: RunDependencies; log: Logger }) => Promise<void>;
  /** How to fix an API failure, in this action's input names. */
  hint: (error: ApiError) => string | undefined;
  /** Called with a failure (as shown to the user) before the report; e.g. to record a source failure. */
  failed?: (error: unknown, failure: string) => void;
  /**
   * Writes the outputs, the job summary (and what else the action reports). `cancelled` is aborted on
   * SIGINT or SIGTERM: already when the report starts, if the signal came first, or while it runs. A
   * report waiting on something it can do without (a call to GitHub) then writes what it knows at once:
   * the run exits CANCEL_GRACE_MS after the signal at the latest.
   */
  report: (settings: S | undefined, cancelled: AbortSignal) => Promise<void>;
  /** Writes under way now, named when the run is cancelled. */
  inFlight?: () => string[];
}

/** How long a cancelled run may take to write its summary and outputs before it exits. */
const CANCEL_GRACE_MS = 1500;

export async function runAction<S>(entry: ActionEntry<S>, overrides: Partial<RunDependencies> = {}): Promise<void> {
  const deps = { ...defaultDependencies, ...overrides };
  const log = actionsLogger;
  let settings: S | undefined;
  // The report, once started: a signal that comes while it runs waits for it (within the grace period),
  // and tells it so through `cancel`, which the signal aborts before anything waits.
  let reporting: Promise<void> | undefined;
  const cancel = new AbortController();
  const finish = (): Promise<void> =>
    (reporting ??= (async () => {
      try {
        await entry.report(settings, cancel.signal);
      } catch (error) {
        log.warning(`Could not write the report: ${(error as Error).message}`, 'report');
      }
    })());
  const stop = onSignals((signal) => {
    const flying = entry.inFlight?.() ?? [];
    const message =
      `The run was cancelled (${signal}).` +
      (flying.length
        ? ` In flight: ${flying.join('; ')}. ${flying.some((w) => /^upload/.test(w)) ? 'An upload was in flight: it may be stored; the next run finds it and removes any duplicate.' : 'It may or may not have taken effect; the next run reads the state again before it acts.'}`
        : ' No write was in flight.');
    log.error(message, 'cancelled');
    process.exitCode = 1;
    const error = new ActionError(message);
    entry.failed?.(error, message);
    cancel.abort(error);
    const timer = setTimeout(() => process.exit(1), CANCEL_GRACE_MS);
    void finish().finally(() => {
      clearTimeout(timer);
      process.exit(1);
    });
  });
  try {
    entry.mask();
    settings = entry.readSettings();
    await entry.execute(settings, { deps, log });
  } catch (error) {
    entry.failed?.(error, failRun(error, entry, log));
  }
  await finish();
  stop();
}

/** Calls `handler` once on SIGINT or SIGTERM; returns a function that removes the handlers. */
function onSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  let fired = false;
  const listener = (signal: NodeJS.Signals): void => {
    if (fired) return;
    fired = true;
    handler(signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/**
 * Turns an error into a failed step: an error annotation with its hint (titled by the input, check or step
 * it concerns) and exit code 1, never a stack trace unless debug logging is on. Returns the failure in
 * words, with its fix, for the job summary.
 */
export function failRun(error: unknown, entry: Pick<ActionEntry<unknown>, 'hint'>, log: Logger): string {
  process.exitCode = 1;
  if (core.isDebug() && error instanceof Error && error.stack) log.debug(error.stack);
  if (error instanceof ActionError) {
    const hint = error.hint ?? (error instanceof ApiError ? entry.hint(error) : undefined);
    const text = hint ? `${error.message} ${hint}` : error.message;
    log.error(text, error.title);
    return text;
  }
  const message = error instanceof Error ? error.message : String(error);
  log.error(`Unexpected error: ${message}. Please report this at the action's issue tracker with the log of a run with debug logging on.`);
  return `unexpected error: ${message}`;
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
 * Written synchronously, as @actions/core writes outputs: a cancelled run writes it in the signal's own
 * turn, however busy the machine, before the grace period can end the process.
 */
export function writeSummary(markdown: string, log: Logger = actionsLogger): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  try {
    fs.appendFileSync(file, `${redact(markdown)}${os.EOL}`, { encoding: 'utf8' });
  } catch (error) {
    log.warning(`Could not write the job summary: ${(error as Error).message}`);
  }
}

/** Says each advisory as an annotation titled by what it is about; returns the warnings' texts, for the summary. */
export function announce(advisories: readonly Advisory[], log: Logger = actionsLogger): string[] {
  for (const { level, title, message } of advisories) log[level](message, title);
  return advisories.filter((a) => a.level === 'warning').map((a) => a.message);
}
