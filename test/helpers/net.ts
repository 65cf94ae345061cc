import { connect } from 'node:net';

/**
 * Ports below 1024 that IANA leaves unassigned. The operating system never hands out a port below 1024
 * for `listen(0)` (the ephemeral range starts at 32768 on Linux, 49152 on macOS and Windows), so no
 * emulator, proxy or fake server of a test running in parallel can take one; and nothing usual listens
 * there. A port found free a moment before (listen(0), then close) could be taken by a parallel worker
 * before the test connects, and the test would then reach that server instead of being refused.
 */
const CANDIDATES = [4, 6, 8, 10, 12, 14, 16];

let found: Promise<number> | undefined;

/**
 * A port on 127.0.0.1 where every connection is refused (ECONNREFUSED): the first of CANDIDATES that
 * refuses, checked once per test worker. Fails loudly if something on this machine listens on all of them.
 */
export function closedPort(): Promise<number> {
  found ??= (async () => {
    for (const port of CANDIDATES) if ((await attempt(port)) === 'ECONNREFUSED') return port;
    throw new Error(`closedPort: none of the ports ${CANDIDATES.join(', ')} on 127.0.0.1 refuses connections`);
  })();
  return found;
}

/** What a connection to the port gets: `connected`, or the error code. */
function attempt(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}
