/**
 * An error the user can act on: `message` says what is wrong, `hint` how to fix it.
 * `title` becomes the annotation title (a check name or a step name).
 * Anything that is not an ActionError is treated as unexpected.
 */
export class ActionError extends Error {
  readonly title: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: { title?: string; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.title = options.title;
    this.hint = options.hint;
  }

  /** The full text of the annotation: what is wrong, then how to fix it. */
  get annotation(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

/** An input that cannot be used as given. */
export class InputError extends ActionError {
  constructor(input: string, message: string, hint?: string) {
    super(message, { title: `input ${input}`, ...(hint === undefined ? {} : { hint }) });
    this.name = 'InputError';
  }
}

/**
 * The certificate's source cannot be used: no source or several, a file that is missing, unreadable or
 * too large. It fails the first preflight rule (`source`), so its title is that rule's name.
 */
export class SourceError extends ActionError {
  constructor(message: string, hint: string) {
    super(message, { title: 'source', hint });
    this.name = 'SourceError';
  }
}
