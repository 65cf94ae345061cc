/**
 * The one way the actions write to the job log. Every line and annotation goes through here, so that
 * outside text (API messages, certificate names, headers) is redacted and escaped in one place before it
 * reaches the runner, which would otherwise run a line that starts with `::` as a workflow command. Code
 * takes a Logger (passed in), never `core.info` directly.
 *
 * Each line, annotation text and annotation title passes through `forLog` (text.ts): secrets removed,
 * line breaks and control characters written out (`\n`, `\xNN`), and a line that would start a workflow
 * command shown instead of run. The action's own text has no line breaks, so escaping whole lines
 * changes nothing of it.
 */
import * as core from '@actions/core';
import { forLog } from './text.js';

export interface Logger {
  info(line: string): void;
  notice(text: string, title?: string): void;
  warning(text: string, title?: string): void;
  error(text: string, title?: string): void;
  debug(text: string): void;
}

const annotation = (title: string | undefined): core.AnnotationProperties => (title ? { title: forLog(title) } : {});

/** The runner's log, through @actions/core. */
export const actionsLogger: Logger = {
  info: (line) => core.info(forLog(line)),
  notice: (text, title) => core.notice(forLog(text), annotation(title)),
  warning: (text, title) => core.warning(forLog(text), annotation(title)),
  error: (text, title) => core.error(forLog(text), annotation(title)),
  debug: (text) => core.debug(forLog(text)),
};
