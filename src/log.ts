/**
 * The one way the actions write to the job log. Every line and annotation goes through here, so that
 * outside text (API messages, certificate names, headers) can be redacted and escaped in one place
 * before it reaches the runner, which would otherwise run a line that starts with `::` as a workflow
 * command. Code takes a Logger (passed in), never `core.info` directly.
 */
import * as core from '@actions/core';

export interface Logger {
  info(line: string): void;
  notice(text: string, title?: string): void;
  warning(text: string, title?: string): void;
  error(text: string, title?: string): void;
  debug(text: string): void;
}

const annotation = (title: string | undefined): core.AnnotationProperties => (title ? { title } : {});

/** The runner's log, through @actions/core. */
export const actionsLogger: Logger = {
  info: (line) => core.info(line),
  notice: (text, title) => core.notice(text, annotation(title)),
  warning: (text, title) => core.warning(text, annotation(title)),
  error: (text, title) => core.error(text, annotation(title)),
  debug: (text) => core.debug(text),
};
