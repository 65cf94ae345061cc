import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { actionsLogger } from '../src/log.ts';
import { maskText } from '../src/secrets.ts';

/** What the Logger wrote to stdout, line by line (the runner reads workflow commands from there). */
let written: string[] = [];
let spy: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  written = [];
  spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(...String(chunk).split(/\r?\n/).filter(Boolean));
    return true;
  });
});
afterEach(() => spy.mockRestore());

describe('actionsLogger: every line and annotation redacted and escaped', () => {
  const hostile = 'corp-ca\n::error title=Forged::owned\r\n::stop-commands::x';

  it('info and debug: one line each, and no line that came from the text starts a command', () => {
    actionsLogger.info(`Certificate cert_1 ("${hostile}") found.`);
    actionsLogger.info(hostile.slice(hostile.indexOf('::')));
    expect(written).toEqual([
      'Certificate cert_1 ("corp-ca\\n::error title=Forged::owned\\r\\n::stop-commands::x") found.',
      '\\x3a:error title=Forged::owned\\r\\n::stop-commands::x',
    ]);
    written = [];
    process.env.RUNNER_DEBUG = '1';
    try {
      actionsLogger.debug(`name ${hostile}`);
    } finally {
      delete process.env.RUNNER_DEBUG;
    }
    expect(written).toEqual(['::debug::name corp-ca\\n::error title=Forged::owned\\r\\n::stop-commands::x']);
  });

  it('annotations: the text and the title are escaped, and stay one command', () => {
    actionsLogger.warning(`renewal: ${hostile}`, `renewal ${hostile}`);
    actionsLogger.error('plain', undefined);
    actionsLogger.notice('note', 'input base-url');
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(
      /^::warning title=renewal corp-ca\\n%3A%3Aerror title=Forged%3A%3Aowned\\r\\n%3A%3Astop-commands%3A%3Ax::renewal: corp-ca\\n::error/,
    );
    expect(written[1]).toBe('::error::plain');
    expect(written[2]).toBe('::notice title=input base-url::note');
  });

  it('removes a registered secret, and anything shaped like a key, from lines and annotations', () => {
    const key = 'sk-admin-LoggerTest0123456789abcdef';
    const token = 'AnOpaqueTokenLoggerTest0123';
    maskText(token);
    written = [];
    actionsLogger.info(`gateway said: ${key} / ${token}`);
    actionsLogger.error(`401: Incorrect API key provided: ${key}`, `api ${token}`);
    expect(written).toEqual(['gateway said: *** / ***', '::error title=api ***::401: Incorrect API key provided: ***']);
  });
});
