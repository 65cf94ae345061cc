import type { Logger } from '../../src/log.ts';

/** A Logger that records every line, by level, and all of them in order (`level: text`). */
export interface RecordingLogger extends Logger {
  infos: string[];
  notices: string[];
  warnings: string[];
  errors: string[];
  debugs: string[];
  /** Every line in order, as `info: ...`, `notice: ...`, ... */
  all: string[];
  /** Forgets every line recorded so far. */
  clear(): void;
}

export function recordingLogger(): RecordingLogger {
  const log: RecordingLogger = {
    infos: [],
    notices: [],
    warnings: [],
    errors: [],
    debugs: [],
    all: [],
    info: (line) => record('info', line, log.infos),
    notice: (text) => record('notice', text, log.notices),
    warning: (text) => record('warning', text, log.warnings),
    error: (text) => record('error', text, log.errors),
    debug: (text) => record('debug', text, log.debugs),
    clear: () => {
      for (const list of [log.infos, log.notices, log.warnings, log.errors, log.debugs, log.all]) list.length = 0;
    },
  };
  function record(level: string, text: string, into: string[]): void {
    into.push(text);
    log.all.push(`${level}: ${text}`);
  }
  return log;
}
