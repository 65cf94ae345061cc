/**
 * What happens to text before it leaves the process (the log, annotations, the job summary, outputs, the
 * pull-request comment): secrets are removed from it, and text that came from outside (API messages,
 * certificate names, headers) is escaped so that it stays text.
 *
 * - `redact`: removes every registered secret (see `registerSecret`; `maskText` in secrets.ts registers
 *   the admin key, the client key, the GitHub token and any other key it is given) and anything shaped
 *   like an OpenAI key (`sk-...`), a GitHub token (`ghs_...`, `github_pat_...`), a bearer or basic
 *   credential, or a PEM private key, each replaced by `***`, as the runner's masker does.
 * - `cut`: redacts, then shortens. A cut made before redaction could leave a fragment of a secret that no
 *   longer matches it whole (the runner masks only whole values).
 * - `oneLine`: redacts, then escapes line breaks and control characters (see `escapeControls`).
 * - `forLog`: `oneLine`, and a line that would start with `::` or `##[` (a workflow command, once leading
 *   blanks are skipped as the runner skips them) has its first colon or hash written `\x3a` or `\x23`.
 * - `forMarkdown`: redacts, then escapes for a Markdown table cell of the summary or the comment.
 */

const REDACTED = '***';

const registered = new Set<string>();
let registeredPattern: RegExp | undefined;

/** Removes `value` from every text that `redact` (and so `cut`, `oneLine`, `forLog`, `forMarkdown`) sees from now on. */
export function registerSecret(value: string): void {
  if (!value || registered.has(value)) return;
  registered.add(value);
  registeredPattern = undefined;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One pattern for all the given secrets, longest first, so a secret that holds another is removed whole. */
function patternOf(secrets: Iterable<string>): RegExp | undefined {
  const sorted = [...new Set(secrets)].filter(Boolean).sort((a, b) => b.length - a.length);
  return sorted.length ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
}

/**
 * Shapes of secrets, removed even when they were never registered:
 * - OpenAI keys: `sk-` then 6 or more of letters, digits, `_`, `-` or `*` (`sk-admin-...`, `sk-proj-...`,
 *   `sk-svcacct-...`, legacy `sk-...`, and the starred forms OpenAI's messages quote, `sk-adm****abcd`),
 *   not preceded by a letter or digit (so "risk-based" stays);
 * - GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` then 20 or more letters and digits, and
 *   `github_pat_...`;
 * - the credential after `Bearer ` or `Basic ` (an echoed Authorization header), the word kept;
 * - a PEM private key, armour included: the armour followed by key material (16 or more base64
 *   characters, after any `Proc-Type:`-style headers), to its end line or the end of the text; the armour
 *   alone, as the action's own hints quote it, stays.
 */
const SHAPES: Array<[RegExp, string]> = [
  [
    /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?=\s*(?:[A-Za-z-]+:[^\n]*\n\s*)*[A-Za-z0-9+/]{16})[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g,
    REDACTED,
  ],
  [/(?<![A-Za-z0-9])sk-[A-Za-z0-9_*-]{6,}/g, REDACTED],
  [/(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, REDACTED],
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=*-]{8,}/gi, `$1$2${REDACTED}`],
];

/** `text` without the given secrets and without anything shaped like a secret (see SHAPES). */
export function redactWith(text: string, secrets: Iterable<string>): string {
  const pattern = patternOf(secrets);
  return redactPattern(text, pattern);
}

function redactPattern(text: string, pattern: RegExp | undefined): string {
  let out = pattern ? text.replace(pattern, REDACTED) : text;
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** `text` without any registered secret and without anything shaped like a secret. */
export function redact(text: string): string {
  registeredPattern ??= patternOf(registered);
  return redactPattern(text, registeredPattern);
}

/**
 * At most `length` characters of the redacted text, then `…` when something was cut off. Redaction comes
 * first, so a cut can never leave a fragment of a secret; a cut never splits a surrogate pair.
 */
export function cut(text: string, length: number): string {
  const clean = redact(text);
  if (clean.length <= length) return clean;
  let end = Math.max(0, length);
  const last = clean.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return `${clean.slice(0, end)}…`;
}

const hex = (code: number, width: number): string => code.toString(16).toUpperCase().padStart(width, '0');

/**
 * Line breaks and control characters written out, so the text is one line and shows what it held:
 * `\n`, `\r` and `\t` as those two characters; every other C0 control, DEL and C1 control as `\xNN`
 * (NEL, U+0085, is `\x85`); the Unicode line and paragraph separators as `\u2028` and `\u2029`.
 * Backslashes already in the text are left as they are: the aim is that no outside text can begin a
 * line, not that the escaping can be undone.
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${hex(code, 4)}` : `\\x${hex(code, 2)}`;
  });
}

/** Redacted, on one line: for outputs and any value written where a line break would start something new. */
export function oneLine(text: string): string {
  return escapeControls(redact(text));
}

/**
 * A line for the job log: redacted, on one line, and never a workflow command. The runner reads a line as
 * a command when, after leading blanks, it starts with `::` (or the older `##[`); such a line gets its
 * first character written `\x3a` (`:`) or `\x23` (`#`), so it is shown, not run.
 */
export function forLog(text: string): string {
  const line = oneLine(text);
  return line.replace(
    /^(\s*)(::|##\[)/,
    (_all, blanks: string, start: string) => `${blanks}${start.startsWith(':') ? '\\x3a' : '\\x23'}${start.slice(1)}`,
  );
}

/**
 * Text made safe for a cell of a Markdown table in the job summary or the pull-request comment: redacted,
 * on one line (line breaks and tabs become spaces, other control characters U+FFFD), and unable to
 * - break the table: `|` is written `\|`, and a backslash `\\`, so no text can undo that escape;
 * - add HTML (tags, comments, a forged comment marker): `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`;
 * - add a link or an image: `[` and `]` are backslash-escaped (no `[text](url)`, `![alt](url)`, `[ref]:`),
 *   and a zero-width space (U+200B) goes into `://` and `www.`, so no bare URL is linked;
 * - mention a user or a team, or reference an issue: a zero-width space follows every `@`, and every `#`
 *   that is followed by a digit.
 * Backticks, `*` and `_` are left: they can change only how the text looks, and the summary wraps ids in
 * backticks itself.
 */
export function forMarkdown(text: string): string {
  return (
    redact(text)
      .replace(/\r\n|[\r\n\t\u0085\u2028\u2029]/g, ' ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD')
      .replace(/\\/g, '\\\\')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/\|/g, '\\|')
      .replace(/[[\]]/g, '\\$&')
      .replace(/:\/\//g, ':\u200b//')
      .replace(/(www)\./gi, '$1\u200b.')
      .replace(/@/g, '@\u200b')
      .replace(/#(?=\d)/g, '#\u200b')
  );
}
