import { describe, expect, it } from 'vitest';
import { mapLimit, unlessCancelled } from '../src/concurrency.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps the order of results and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapLimit([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      for (let i = 0; i < n; i++) await tick();
      running--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 60, 70, 80, 90, 100]);
    expect(peak).toBe(3);
  });

  it('throws the first failure after the calls already started have settled, and starts no new ones', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    await expect(
      mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await tick();
        if (n === 1) throw new Error('one');
        await tick();
        settled.push(n);
      }),
    ).rejects.toThrow('one');
    expect(started).toEqual([1, 2]);
    expect(settled).toEqual([2]);
  });

  it('handles an empty list', async () => {
    expect(await mapLimit([], 8, async () => 1)).toEqual([]);
  });
});

describe('unlessCancelled', () => {
  const never = new Promise<string>(() => undefined);

  it('gives the work its result when it ends first', async () => {
    const cancel = new AbortController();
    await expect(unlessCancelled(Promise.resolve('done'), cancel.signal, () => 'cancelled')).resolves.toBe('done');
    await expect(unlessCancelled(Promise.reject(new Error('no')), cancel.signal, () => 'cancelled')).rejects.toThrow('no');
    cancel.abort(); // after the work ended: changes nothing
  });

  it('stops waiting in the abort’s own turn, for work that never ends', async () => {
    const cancel = new AbortController();
    const seen: string[] = [];
    const waiting = unlessCancelled(never, cancel.signal, () => 'cancelled').then((v) => seen.push(v));
    await tick();
    expect(seen).toEqual([]);
    cancel.abort();
    await Promise.resolve(); // microtasks only: no timer, no I/O turn
    await Promise.resolve();
    expect(seen).toEqual(['cancelled']);
    await waiting;
  });

  it('does not wait at all when already aborted', async () => {
    const cancel = new AbortController();
    cancel.abort();
    let asked = 0;
    await expect(unlessCancelled(never, cancel.signal, () => `cancelled ${++asked}`)).resolves.toBe('cancelled 1');
  });
});
