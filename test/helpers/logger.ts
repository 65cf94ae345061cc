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
  /** The annotation title of each notice, warning and error, in order, as `notice: title` (`notice: -` when none). */
  titles: string[];
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
    titles: [],
    info: (line) => record('info', line, log.infos),
    notice: (text, title) => record('notice', text, log.notices, title),
    warning: (text, title) => record('warning', text, log.warnings, title),
    error: (text, title) => record('error', text, log.errors, title),
    debug: (text) => record('debug', text, log.debugs),
    clear: () => {
      for (const list of [log.infos, log.notices, log.warnings, log.errors, log.debugs, log.all, log.titles]) list.length = 0;
    },
  };
  function record(level: string, text: string, into: string[], title?: string): void {
    into.push(text);
    log.all.push(`${level}: ${text}`);
    if (level === 'notice' || level === 'warning' || level === 'error') log.titles.push(`${level}: ${title ?? '-'}`);
  }
  return log;
}
