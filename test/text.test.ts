import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { cell } from '../src/report/markdown.ts';
import { maskText, secretParts } from '../src/secrets.ts';
import { cut, escapeControls, forLog, forMarkdown, oneLine, redact, redactWith, registerSecret } from '../src/text.ts';

/** Characters a secret is made of (a key, a token, base64 lines of a PEM key); `*` is what redaction writes. */
const SECRET_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-'];
/**
 * Characters of the text around a secret, none of them in SECRET_CHARS: so a run of 8 characters of a
 * secret found in the result can only have come from the secret itself.
 */
const AROUND_CHARS = [...' .,;:!?"\'()[]{}<>|@#%&~`\\\n\r\t\u0000\u001b\u0085\u2028é日😀'];

const secretArb = fc.string({ unit: fc.constantFrom(...SECRET_CHARS), minLength: 8, maxLength: 80 });
const aroundArb = fc.string({ unit: fc.constantFrom(...AROUND_CHARS), maxLength: 400 });
const anyText = fc.string({ unit: 'binary', maxLength: 300 });

/** Every run of 8 characters of `secret`: any longer fragment holds one of them. */
function fragments(secret: string): string[] {
  const found = new Set<string>();
  for (const line of secret.split(/\r?\n/))
    for (let i = 0; i + 8 <= line.length; i++) if (!line.slice(i, i + 8).startsWith('-----')) found.add(line.slice(i, i + 8));
  return [...found];
}

const survivors = (text: string, secret: string): string[] => fragments(secret).filter((f) => text.includes(f));

/** What .NET's TrimStart (the runner's) skips before it looks for `::`: JavaScript's \s and NEL. */
const trimStart = (line: string): string => line.replace(/^[\s\u0085]+/, '');

describe('redact: registered secrets and secret shapes become ***', () => {
  it('removes a secret registered through maskText, whole and line by line, and registers it with the runner too', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const key = 'sk-admin-Registered0123456789abcdefXYZ';
      const pem =
        '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\nC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n';
      maskText(key);
      maskText(pem);
      expect(redact(`401: Incorrect API key provided: ${key}.`)).toBe('401: Incorrect API key provided: ***.');
      expect(redact('line MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ seen')).toBe('line *** seen');
      // The armour is not secret, and is left in the action's own messages.
      expect(redact('-----BEGIN PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----')).toBe(
        '-----BEGIN PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----',
      );
      const masked = write.mock.calls.map(([chunk]) => String(chunk).trim());
      expect(masked).toContain(`::add-mask::${key}`);
      expect(masked).toContain('::add-mask::MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ');
    } finally {
      write.mockRestore();
    }
  });

  it('removes anything shaped like an OpenAI key or a GitHub token, registered or not', () => {
    const cases: Array<[string, string]> = [
      ['key sk-admin-AbCdEfGh0123456789_-xyz here', 'key *** here'],
      ['sk-proj-abcdefghijklmnop, sk-svcacct-0123456789 and sk-None-abcdefgh', '***, *** and ***'],
      ['legacy sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL.', 'legacy ***.'],
      ['OpenAI quotes sk-adm****abcd back', 'OpenAI quotes *** back'],
      ['"ghs_abcdefghijklmnopqrstuvwxyz0123" github_pat_11ABCDEFG0123456789_abcdefghij', '"***" ***'],
      ['Authorization: Bearer abc.def-ghi_jkl~mno', 'Authorization: Bearer ***'],
      ['Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==', 'Proxy-Authorization: Basic ***'],
      [
        '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----',
        '***',
      ],
      ['an unterminated -----BEGIN PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9', 'an unterminated ***'],
      [
        '-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END EC PRIVATE KEY----- after',
        '*** after',
      ],
    ];
    for (const [text, expected] of cases) expect(redact(text), text).toBe(expected);
  });

  it('leaves ordinary words that only look a little like keys', () => {
    for (const text of ['risk-assessment-2027 and task-force-members', 'sk-learn', 'a Bearer token', 'ghs_short', 'the desk-based review'])
      expect(redact(text)).toBe(text);
  });

  it('a secret that holds another is removed whole, longest first', () => {
    expect(redactWith('x abcdefgh-12345678 y abcdefgh z', ['abcdefgh', 'abcdefgh-12345678'])).toBe('x *** y *** z');
  });

  it('property: no 8 characters of any secret survive, wherever it is in the text', () => {
    fc.assert(
      fc.property(
        fc.array(secretArb, { minLength: 1, maxLength: 3 }),
        fc.array(aroundArb, { minLength: 4, maxLength: 4 }),
        (secrets, around) => {
          const text = around[0] + secrets.join(around[1]) + around[2] + secrets[0] + around[3];
          const out = redactWith(text, secrets);
          for (const secret of secrets) expect(survivors(out, secret)).toEqual([]);
        },
      ),
    );
  });

  it('property: an OpenAI-shaped key is removed without being registered', () => {
    const keyArb = fc
      .tuple(fc.constantFrom('sk-', 'sk-admin-', 'sk-proj-', 'sk-svcacct-', 'sk-None-'), fc.stringMatching(/^[A-Za-z0-9_-]{8,60}$/))
      .map(([prefix, body]) => prefix + body);
    fc.assert(
      fc.property(keyArb, aroundArb, aroundArb, (key, before, after) => {
        const out = redactWith(`${before}${key}${after}`, []);
        expect(survivors(out, key)).toEqual([]);
      }),
    );
  });
});

describe('cut: redaction first, then the cut', () => {
  it('an API message cut inside the key keeps no part of it (the masker would see only a fragment)', () => {
    const key = 'sk-admin-CutInsideTheKey0123456789';
    registerSecret(key);
    const message = `${'x'.repeat(290)} ${key} more`;
    expect(message.slice(0, 300)).toContain(key.slice(0, 9)); // what a cut before redaction would keep
    const out = cut(message, 300);
    expect(out).toBe(`${'x'.repeat(290)} *** more`);
    expect(cut(`${'y'.repeat(295)} ${key}`, 300)).toBe(`${'y'.repeat(295)} ***`);
    expect(cut(`${'z'.repeat(310)} ${key}`, 300)).toBe(`${'z'.repeat(300)}…`);
  });

  it('never splits a surrogate pair, and says when it cut', () => {
    expect(cut('ab😀cd', 3)).toBe('ab…');
    expect(cut('ab😀cd', 4)).toBe('ab😀…');
    expect(cut('short', 300)).toBe('short');
  });

  it('property: for every registered secret and every cut length, no 8 characters of the secret survive', () => {
    fc.assert(
      fc.property(secretArb, aroundArb, aroundArb, fc.nat({ max: 600 }), (secret, before, after, length) => {
        registerSecret(secret);
        const out = cut(`${before}${secret}${after}`, length);
        expect(survivors(out, secret)).toEqual([]);
        expect(out.length).toBeLessThanOrEqual(length + 1);
      }),
    );
  });

  it('property: the lines of a multi-line secret registered as maskText does, under any cut', () => {
    const pemArb = fc
      .array(fc.stringMatching(/^[A-Za-z0-9+/]{8,64}$/), { minLength: 1, maxLength: 5 })
      .map((lines) => `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----`);
    fc.assert(
      fc.property(pemArb, aroundArb, fc.nat({ max: 800 }), (pem, before, length) => {
        for (const part of secretParts(pem)) registerSecret(part);
        // The key quoted with its line breaks, and with them taken out.
        const out = cut(`${before}${pem}${before}${pem.replace(/-----[A-Z ]+-----/g, '').replace(/\n/g, ' ')}`, length);
        expect(survivors(out, pem)).toEqual([]);
      }),
    );
  });
});

describe('forLog: one line, never a workflow command', () => {
  it('writes line breaks and control characters out, and leaves the action’s own text as it is', () => {
    expect(escapeControls('a\nb\r\nc\td\u0000e\u001bf\u007fg\u0085h\u009fi\u2028j\u2029')).toBe(
      'a\\nb\\r\\nc\\td\\x00e\\x1Bf\\x7Fg\\x85h\\x9Fi\\u2028j\\u2029',
    );
    const own = 'Certificate cert_abc ("corp-ca-2027") found in the organization: 1 of 2 checks pass; see https://example.test/v1.';
    expect(forLog(own)).toBe(own);
  });

  it('a certificate name with forged workflow commands stays on the line it was printed on', () => {
    const name = 'corp-ca\n::error title=Forged::owned\n::stop-commands::x\r\n::add-mask::everything';
    const line = forLog(`Certificate cert_1 ("${name}") found.`);
    expect(line).toBe(
      'Certificate cert_1 ("corp-ca\\n::error title=Forged::owned\\n::stop-commands::x\\r\\n::add-mask::everything") found.',
    );
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('a line that itself starts with a command is shown, not run', () => {
    expect(forLog('::error::x')).toBe('\\x3a:error::x');
    expect(forLog('  ::warning::x')).toBe('  \\x3a:warning::x');
    expect(forLog('##[error]x')).toBe('\\x23#[error]x');
    expect(forLog('\n::error::x')).toBe('\\n::error::x');
  });

  it('property: whatever the text, the result is one line, has no control character, and is never a command', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const line = forLog(text);
        // eslint-disable-next-line no-control-regex
        expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        expect(trimStart(line).startsWith('::')).toBe(false);
        expect(trimStart(line).startsWith('##[')).toBe(false);
      }),
    );
  });

  it('property: a registered secret inside any text does not survive forLog or oneLine', () => {
    fc.assert(
      fc.property(secretArb, aroundArb, (secret, around) => {
        registerSecret(secret);
        for (const out of [forLog(`${around}${secret}${around}`), oneLine(`${secret}${around}`)])
          expect(survivors(out, secret)).toEqual([]);
      }),
    );
  });
});

describe('forMarkdown and cell: text that cannot break a table, add HTML, a link or a mention', () => {
  it('escapes a hostile certificate name', () => {
    const name =
      'x | y\n<img src=x onerror=alert(1)> [click](https://evil.example) ![i](http://e/i.png) @octocat @org/team #12 www.evil.example <!-- openai-mtls-certificate-action -->';
    const out = cell(name);
    expect(out).toBe(
      'x \\| y &lt;img src=x onerror=alert(1)&gt; \\[click\\](https:\u200b//evil.example) !\\[i\\](http:\u200b//e/i.png) @\u200boctocat @\u200borg/team #\u200b12 www\u200b.evil.example &lt;!-- openai-mtls-certificate-action --&gt;',
    );
  });

  it('leaves the summary’s own code spans and plain words alone', () => {
    expect(cell('`cert_abc`')).toBe('`cert_abc`');
    expect(cell('corp-mtls-ca-2027 (2 of 3 scopes)')).toBe('corp-mtls-ca-2027 (2 of 3 scopes)');
  });

  it('a backslash in the text cannot undo the escape of a pipe or a bracket', () => {
    expect(forMarkdown('a\\|b\\](c')).toBe('a\\\\\\|b\\\\\\](c');
  });

  /** Whether the character at `index` is escaped: preceded by an odd number of backslashes. */
  const escaped = (text: string, index: number): boolean => {
    let count = 0;
    for (let i = index - 1; i >= 0 && text[i] === '\\'; i--) count++;
    return count % 2 === 1;
  };

  it('property: never a line break, `<`, `>`, an unescaped `|`, `[` or `]`, an `@name`, `://`, `www.` or `#1`', () => {
    const hostile = fc.string({
      unit: fc.oneof(
        fc.constantFrom(
          '|',
          '<',
          '>',
          '[',
          ']',
          '(',
          ')',
          '!',
          '@',
          '#',
          '\\',
          ':',
          '/',
          'w',
          '.',
          '\n',
          '\r',
          '\u2028',
          '&',
          '`',
          'a',
          '1',
        ),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      maxLength: 200,
    });
    fc.assert(
      fc.property(hostile, (text) => {
        const out = forMarkdown(text);
        // eslint-disable-next-line no-control-regex
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029<>]/);
        for (let i = 0; i < out.length; i++)
          if ('|[]'.includes(out[i]!)) expect(escaped(out, i), `${JSON.stringify(out)} at ${i}`).toBe(true);
        expect(out).not.toMatch(/@[\p{L}\p{N}_-]/u);
        expect(out).not.toMatch(/:\/\/|www\.|#\d/i);
      }),
    );
  });

  it('property: a registered secret does not survive forMarkdown', () => {
    fc.assert(
      fc.property(secretArb, aroundArb, (secret, around) => {
        registerSecret(secret);
        const out = forMarkdown(`${around}${secret}${around}`);
        expect(survivors(out, secret)).toEqual([]);
      }),
    );
  });
});
