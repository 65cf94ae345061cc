import { afterEach, test } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';

export interface Closable {
  close(): Promise<void>;
}

/**
 * For a test file that starts servers (emulators, fake GitHub, proxies): returns `track`, which hands a
 * server back after noting it, and registers an afterEach that closes every server noted in that test.
 * Only for tests that run one after another: the afterEach would close a concurrent test's servers too
 * (`serverTest` is for concurrent tests).
 */
export function closeAfterEach(): <T extends Closable>(server: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((server) => server.close()));
  });
  return (server) => {
    open.push(server);
    return server;
  };
}

/**
 * `it` for tests that run concurrently (`describe.concurrent`), each with servers of its own: the
 * fixture `track` hands a server back after noting it, and closes what this test noted when this test
 * ends, passed or failed, without touching another test's; `emulator` starts an emulator so tracked.
 */
export const serverTest = test
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  .extend('track', async ({}, { onCleanup }) => {
    const open: Closable[] = [];
    onCleanup(async () => {
      await Promise.all(open.map((server) => server.close()));
    });
    return <T extends Closable>(server: T): T => {
      open.push(server);
      return server;
    };
  })
  .extend(
    'emulator',
    async ({ track }) =>
      async (options: EmulatorOptions = {}): Promise<Emulator> =>
        track(await startEmulator(options)),
  );
