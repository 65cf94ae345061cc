/**
 * A forward proxy on 127.0.0.1 for tests: plain HTTP requests (absolute URIs) and CONNECT tunnels,
 * recording what passes through. Only loopback targets are allowed.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface TestProxy {
  url: string;
  /** `CONNECT host:port` or `GET http://host:port/path`, in order. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * `aliases` maps made-up host names (e.g. `github.test`) to 127.0.0.1, so a client that bypasses the proxy
 * for loopback addresses can still be pointed at a local server through it.
 */
export async function startProxy(aliases: string[] = []): Promise<TestProxy> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const loopback = (host: string): boolean => host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || aliases.includes(host);
  const resolve = (host: string): string => (aliases.includes(host) ? '127.0.0.1' : host);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    if (!loopback(target.hostname)) {
      res.writeHead(403).end('only loopback targets');
      return;
    }
    const upstream = httpRequest(
      {
        host: resolve(target.hostname),
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    if (!host || !loopback(host)) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), resolve(host), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
