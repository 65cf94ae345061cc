import { afterEach } from 'vitest';

export interface Closable {
  close(): Promise<void>;
}

/**
 * For a test file that starts servers (emulators, fake GitHub, proxies): returns `track`, which hands a
 * server back after noting it, and registers an afterEach that closes every server noted in that test.
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
