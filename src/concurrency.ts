/**
 * Maps over items with at most `limit` calls in flight, keeping the order of results. The first
 * failure is thrown once every call already started has settled, so no call is left running unseen.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * Waits for `work`, or for `cancel` to be aborted, whichever comes first; on abort (or when it already
 * was) resolves with `instead()`, without waiting further. The work itself is not stopped: it may still
 * finish, unseen. For a call whose result the run can do without once it has been cancelled.
 */
export function unlessCancelled<T>(work: Promise<T>, cancel: AbortSignal, instead: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      try {
        resolve(instead());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    if (cancel.aborted) return onAbort();
    cancel.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => cancel.removeEventListener('abort', onAbort));
  });
}
