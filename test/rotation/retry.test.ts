import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { describe, expect, it } from 'vitest';
import { ApiError, describeFailure, fromSdkError, retryAfterMs } from '../../src/api/errors.ts';
import { ActionError } from '../../src/errors.ts';
import { BASE_DELAY_MS, MAX_DELAY_MS, MAX_RETRY_AFTER_MS, retryDelay, withRetries, type RetryPolicy } from '../../src/rotation/retry.ts';
import { recordingLogger } from '../helpers/logger.ts';

const context = { action: 'do it', host: 'api.example.test' };

function sdkError(status: number, headers: Record<string, string> = {}, code?: string): APIError {
  return APIError.generate(
    status,
    { error: { message: 'x', type: 't', param: null, code: code ?? null } },
    undefined,
    new Headers(headers),
  );
}

/** A connection error as the SDK gives it: Node's error, with its code, as the cause of fetch's TypeError. */
function connectionError(code: string): APIConnectionError {
  return new APIConnectionError({ cause: new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) }) });
}

/** As api/ throws it: an ApiError, here with a fixed message and hint so the retries' wording can be read. */
const apiFailure = (error: unknown, now: () => number = Date.now): ApiError =>
  fromSdkError(error, context, now).restate('Could not do it: failed.', 'A hint.');

/** What fromSdkError says of an SDK failure: may it have been applied, may it be retried. */
const factsOf = (error: unknown): { maybeApplied: boolean; retryable: boolean } => {
  const { maybeApplied, retryable } = fromSdkError(error, context).facts;
  return { maybeApplied, retryable };
};

describe('the facts of a failure (fromSdkError), as the retries read them', () => {
  it('a 429 is retried, and nothing was applied', () => {
    expect(factsOf(sdkError(429))).toEqual({ maybeApplied: false, retryable: true });
  });

  it('timeouts, connections that may have sent the request, 408, 409 and 5xx may have been applied, and are retried', () => {
    for (const error of [new APIConnectionTimeoutError(), connectionError('ECONNRESET'), new APIConnectionError({ message: 'x' })])
      expect(factsOf(error)).toEqual({ maybeApplied: true, retryable: true });
    for (const status of [408, 409, 500, 502, 503, 504])
      expect(factsOf(sdkError(status)), String(status)).toEqual({ maybeApplied: true, retryable: true });
  });

  it('a connection that failed before anything was sent (refused, no DNS, TLS) is retried, and nothing was applied', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'])
      expect(factsOf(connectionError(code)), code).toEqual({ maybeApplied: false, retryable: true });
  });

  it('obeys x-should-retry as the SDK does, without forgetting that a 5xx may have been applied', () => {
    expect(factsOf(sdkError(500, { 'x-should-retry': 'false' }))).toEqual({ maybeApplied: true, retryable: false });
    expect(factsOf(sdkError(429, { 'x-should-retry': 'false' }))).toEqual({ maybeApplied: false, retryable: false });
    expect(factsOf(sdkError(400, { 'x-should-retry': 'true' }))).toEqual({ maybeApplied: false, retryable: true });
  });

  it('does not retry what retrying cannot fix', () => {
    for (const status of [400, 401, 403, 404, 413, 422])
      expect(factsOf(sdkError(status)), String(status)).toEqual({ maybeApplied: false, retryable: false });
    // A conflict that names what it is (in use, the cap) is an answer: nothing was applied.
    expect(factsOf(sdkError(409, {}, 'certificate_in_use')).maybeApplied).toBe(false);
    expect(factsOf(sdkError(400, {}, 'certificate_limit_exceeded'))).toEqual({ maybeApplied: false, retryable: false });
  });

  it('a cancelled request, or something that is not an API answer, may have been applied but is not retried', () => {
    for (const error of [new APIUserAbortError(), new Error('boom'), 'a string'])
      expect(factsOf(error)).toEqual({ maybeApplied: true, retryable: false });
  });

  it('an ApiError from api/ passes through with its facts', () => {
    const failure = fromSdkError(sdkError(503), context);
    expect(fromSdkError(failure, { action: 'something else', host: 'h' })).toBe(failure);
    expect(failure.facts).toMatchObject({ kind: 'server', status: 503, maybeApplied: true, retryable: true });
  });
});

describe('retryDelay', () => {
  const plain = apiFailure(sdkError(500));
  it('backs off exponentially, with jitter between half and all of the ceiling', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
      expect(retryDelay(plain, attempt, () => 0)).toBe(ceiling / 2);
      expect(retryDelay(plain, attempt, () => 0.999999)).toBe(ceiling);
      expect(retryDelay(plain, attempt, () => 0.5)).toBe(Math.round(ceiling * 0.75));
    }
    expect(retryDelay(plain, 0, () => 0.5)).toBe(750);
    expect(retryDelay(plain, 1, () => 0.5)).toBe(1500);
    expect(retryDelay(plain, 20, () => 0.999999)).toBe(MAX_DELAY_MS);
  });

  it('stays within its bounds for any random value', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const delay = retryDelay(plain, attempt, Math.random);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('honours Retry-After in seconds, without jitter', () => {
    expect(retryDelay(apiFailure(sdkError(429, { 'retry-after': '7' })), 0, () => 0.9)).toBe(7000);
    expect(retryDelay(apiFailure(sdkError(429, { 'retry-after': '0' })), 3, () => 0.9)).toBe(0);
    expect(retryDelay(apiFailure(sdkError(503, { 'retry-after': '1.5' })), 0, () => 0.9)).toBe(1500);
  });

  it('honours Retry-After as an HTTP date, against the clock it is given', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    const after = (value: string): number =>
      retryDelay(
        apiFailure(sdkError(429, { 'retry-after': value }), () => now),
        0,
        () => 0.5,
      );
    expect(after(new Date(now + 12_000).toUTCString())).toBe(12_000);
    // RFC 850 and asctime forms (asctime carries no zone: it is GMT).
    expect(after('Saturday, 28-Nov-26 12:00:03 GMT')).toBe(3000);
    expect(after('Sat Nov 28 12:00:04 2026')).toBe(4000);
    // A date in the past: retry now.
    expect(after(new Date(now - 5000).toUTCString())).toBe(0);
  });

  it('prefers retry-after-ms to Retry-After', () => {
    expect(retryDelay(apiFailure(sdkError(429, { 'retry-after-ms': '250', 'retry-after': '9' })), 0, () => 0.5)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '10' }))).toBe(10);
  });

  it('caps what the server asks for at 60 s', () => {
    expect(retryDelay(apiFailure(sdkError(429, { 'retry-after': '3600' })), 0, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelay(apiFailure(sdkError(429, { 'retry-after-ms': '600000' })), 0, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('falls back to backoff when the header is missing or makes no sense', () => {
    const cases: Array<Record<string, string>> = [
      {},
      { 'retry-after': 'soon' },
      { 'retry-after': '-3' },
      { 'retry-after': '1 2' },
      { 'retry-after-ms': 'abc' },
      { 'retry-after-ms': '-1' },
    ];
    for (const headers of cases) {
      expect(
        retryDelay(apiFailure(sdkError(429, headers)), 1, () => 0),
        JSON.stringify(headers),
      ).toBe(1000);
    }
    expect(fromSdkError(new APIConnectionError({ message: 'x' }), context).facts.retryAfterMs).toBeUndefined();
    expect(fromSdkError(new Error('x'), context).facts.retryAfterMs).toBeUndefined();
  });
});

describe('withRetries', () => {
  function harness(maxRetries: number) {
    const events: string[] = [];
    const log = recordingLogger();
    const retry: RetryPolicy = {
      maxRetries,
      sleep: async (ms) => void events.push(`sleep ${ms}`),
      random: () => 0.5,
    };
    return { events, log, options: { retry, log } };
  }
  /** An attempt that fails with these errors in turn, then answers `done`. */
  function attempts(events: string[], ...failures: unknown[]): () => Promise<string> {
    let n = 0;
    return async () => {
      events.push('attempt');
      const failure = failures[n++];
      if (failure !== undefined) throw apiFailure(failure);
      return 'done';
    };
  }

  it('answers at once when the first attempt succeeds: no sleep, no check', async () => {
    const { events, options } = harness(3);
    const result = await withRetries(
      { what: 'do it', attempt: attempts(events), check: async () => (events.push('check'), undefined), unconfirmed: 'u' },
      options,
    );
    expect(result).toEqual({ value: 'done', attempts: 1, maybeApplied: false, recovered: false });
    expect(events).toEqual(['attempt']);
  });

  it('after a failure that may have been applied: waits the back-off first, then checks, then retries', async () => {
    const { events, log, options } = harness(3);
    const result = await withRetries(
      {
        what: 'do it',
        attempt: attempts(events, sdkError(500)),
        check: async () => (events.push('check'), undefined),
        unconfirmed: 'u',
      },
      options,
    );
    expect(events).toEqual(['attempt', 'sleep 750', 'check', 'attempt']);
    expect(result).toEqual({ value: 'done', attempts: 2, maybeApplied: true, recovered: false });
    expect(log.all).toEqual([
      'info: Attempt 1 to do it failed (HTTP 500), which does not tell whether it took effect; checking in 0.8 s (3 retries left).',
    ]);
  });

  it('ends with what the check finds, without another attempt', async () => {
    const { events, options } = harness(3);
    const result = await withRetries(
      {
        what: 'do it',
        attempt: attempts(events, new APIConnectionTimeoutError()),
        check: async () => (events.push('check'), 'found'),
        unconfirmed: 'u',
      },
      options,
    );
    expect(events).toEqual(['attempt', 'sleep 750', 'check']);
    expect(result).toEqual({ value: 'found', attempts: 1, maybeApplied: true, recovered: true });
  });

  it('after a refusal (429), waits and retries without checking', async () => {
    const { events, log, options } = harness(3);
    await withRetries(
      {
        what: 'do it',
        attempt: attempts(events, sdkError(429, { 'retry-after': '2' })),
        check: async () => (events.push('check'), undefined),
        unconfirmed: 'u',
      },
      options,
    );
    expect(events).toEqual(['attempt', 'sleep 2000', 'attempt']);
    expect(log.infos).toContain('Attempt 1 to do it failed (HTTP 429); trying again in 2.0 s (3 retries left).');
  });

  it('a final failure on the first attempt is thrown as it is: no sleep, no check, no retry', async () => {
    const { events, options } = harness(3);
    const error = await withRetries(
      { what: 'do it', attempt: attempts(events, sdkError(400)), check: async () => (events.push('check'), undefined), unconfirmed: 'u' },
      options,
    ).catch((e: unknown) => e);
    expect(events).toEqual(['attempt']);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('Could not do it: failed.');
  });

  it('when the retries run out after refusals, says how many attempts were made, and keeps the facts and the hint', async () => {
    const { events, options } = harness(2);
    const error = (await withRetries(
      { what: 'do it', attempt: attempts(events, sdkError(429), sdkError(429), sdkError(429)), unconfirmed: 'u' },
      options,
    ).catch((e: unknown) => e)) as ApiError;
    expect(events).toEqual(['attempt', 'sleep 750', 'attempt', 'sleep 1500', 'attempt']);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe('Could not do it: failed. It was tried 3 times.');
    expect(error.hint).toBe('A hint.');
    expect(error.facts).toMatchObject({ kind: 'rate-limit', status: 429 });
  });

  it('when the retries run out after a failure that may have been applied, checks once more and then says it is not known', async () => {
    const { events, options } = harness(1);
    const error = (await withRetries(
      {
        what: 'do it',
        attempt: attempts(events, new APIConnectionTimeoutError(), sdkError(502)),
        check: async () => (events.push('check'), undefined),
        unconfirmed: 'It is not known whether it was done.',
      },
      options,
    ).catch((e: unknown) => e)) as ApiError;
    expect(events).toEqual(['attempt', 'sleep 750', 'check', 'attempt', 'sleep 1500', 'check']);
    expect(error.message).toBe('Could not do it: failed. It was tried 2 times. It is not known whether it was done.');
  });

  it('an earlier failure that may have been applied is remembered when a later one is final', async () => {
    const { events, options } = harness(3);
    const error = (await withRetries(
      { what: 'do it', attempt: attempts(events, sdkError(500), sdkError(400)), check: async () => undefined, unconfirmed: 'Unknown.' },
      options,
    ).catch((e: unknown) => e)) as ApiError;
    expect(events).toEqual(['attempt', 'sleep 750', 'attempt']);
    expect(error.message).toBe('Could not do it: failed. It was tried 2 times. Unknown.');
  });

  it('x-should-retry: false on a 500 is not retried, but checked once', async () => {
    const { events, options } = harness(3);
    const error = (await withRetries(
      {
        what: 'do it',
        attempt: attempts(events, sdkError(500, { 'x-should-retry': 'false' })),
        check: async () => (events.push('check'), undefined),
        unconfirmed: 'Unknown.',
      },
      options,
    ).catch((e: unknown) => e)) as ApiError;
    expect(events).toEqual(['attempt', 'sleep 750', 'check']);
    expect(error.message).toBe('Could not do it: failed. It was tried once. Unknown.');
  });

  it('settle turns a final failure into an answer, told whether an earlier attempt may have been applied', async () => {
    const { events, options } = harness(3);
    const seen: boolean[] = [];
    const result = await withRetries(
      {
        what: 'delete it',
        attempt: attempts(events, new APIConnectionTimeoutError(), sdkError(404)),
        settle: (failure, after) => {
          seen.push(after);
          return failure.facts.status === 404 ? (after ? 'deleted' : 'gone') : undefined;
        },
        unconfirmed: 'u',
      },
      options,
    );
    expect(result).toEqual({ value: 'deleted', attempts: 2, maybeApplied: true, recovered: true });
    expect(seen).toEqual([false, true]);
  });

  it('with max-retries 0, tries once', async () => {
    const { events, options } = harness(0);
    await withRetries({ what: 'do it', attempt: attempts(events, sdkError(503)), unconfirmed: 'Unknown.' }, options).catch(() => undefined);
    expect(events).toEqual(['attempt']);
  });

  it('an error that is not an ApiError (a bug, or an ActionError of the action) is thrown at once', async () => {
    for (const thrown of [new TypeError('boom'), new ActionError('Not an API failure.')]) {
      const { events, options } = harness(3);
      await expect(
        withRetries(
          {
            what: 'do it',
            attempt: async () => {
              throw thrown;
            },
            check: async () => (events.push('check'), 'found'),
            unconfirmed: 'u',
          },
          options,
        ),
      ).rejects.toBe(thrown);
      expect(events).toEqual([]);
    }
  });
});

describe('the facts, retryAfterMs and describeFailure: the edges', () => {
  it('an API error without headers is read by its status alone', () => {
    const error = sdkError(503);
    Object.defineProperty(error, 'headers', { value: undefined });
    expect(factsOf(error)).toEqual({ maybeApplied: true, retryable: true });
    expect(fromSdkError(error, context).facts.retryAfterMs).toBeUndefined();
  });

  it('a timeout may have been applied whatever its cause says; other codes count only as prefixes', () => {
    const timeout = new APIConnectionTimeoutError();
    Object.defineProperty(timeout, 'cause', { value: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
    expect(factsOf(timeout)).toEqual({ maybeApplied: true, retryable: true });
    // A code that merely contains one of the not-sent codes (here from a proxy) may have been sent.
    expect(factsOf(connectionError('UPSTREAM_ECONNREFUSED'))).toEqual({ maybeApplied: true, retryable: true });
  });

  it('retry-after-ms and Retry-After are plain decimal numbers, or an HTTP date that starts with the day', () => {
    const at = (headers: Record<string, string>) => retryAfterMs(new Headers(headers), () => Date.parse('2030-01-01T00:00:00Z'));
    expect(at({ 'retry-after-ms': '1.25' })).toBe(2);
    expect(at({ 'retry-after-ms': '5abc' })).toBeUndefined();
    expect(at({ 'retry-after-ms': '5abc', 'retry-after': '2' })).toBe(2000);
    expect(at({ 'retry-after': '1.25' })).toBe(1250);
    expect(at({ 'retry-after': '1.x' })).toBeUndefined();
    expect(at({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' })).toBe(5000);
    expect(at({ 'retry-after': 'x Tue, 01 Jan 2030 00:00:05 GMT' })).toBeUndefined();
    expect(at({})).toBeUndefined();
  });

  it('words a failure for the log by its kind', () => {
    const word = (error: unknown): string => describeFailure(fromSdkError(error, context));
    expect(word(sdkError(500))).toBe('HTTP 500');
    expect(word(sdkError(429))).toBe('HTTP 429');
    expect(word(new APIConnectionTimeoutError())).toBe('timed out');
    expect(word(connectionError('ECONNRESET'))).toBe('connection failed');
    expect(word(new APIUserAbortError())).toBe('cancelled');
    expect(word(new Error('other'))).toBe('unreadable answer');
  });
});

describe('withRetries: the edges', () => {
  const options = () => {
    const log = recordingLogger();
    return { log, retry: { maxRetries: 2, sleep: async () => undefined, random: () => 0.5 } };
  };

  it('counts the retries left in words: 2 retries, 1 retry', async () => {
    const context = options();
    let n = 0;
    await withRetries(
      {
        what: 'do it',
        attempt: async () => {
          if (n++ < 2) throw apiFailure(sdkError(429));
          return 'done';
        },
        unconfirmed: 'u',
      },
      context,
    );
    expect(context.log.infos).toEqual([
      'Attempt 1 to do it failed (HTTP 429); trying again in 0.8 s (2 retries left).',
      'Attempt 2 to do it failed (HTTP 429); trying again in 1.5 s (1 retry left).',
    ]);
  });

  it('a bug after an attempt that may have been applied is still thrown as it is', async () => {
    const bug = new TypeError('boom');
    let n = 0;
    const result = withRetries(
      {
        what: 'do it',
        attempt: async () => {
          if (n++ === 0) throw apiFailure(sdkError(500));
          throw bug;
        },
        check: async () => undefined,
        unconfirmed: 'u',
      },
      options(),
    );
    await expect(result).rejects.toBe(bug);
  });
});
