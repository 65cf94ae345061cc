/**
 * A tiny node:http server in front of an emulator, for answers the emulator does not fake: every request
 * is passed on to the emulator, except those a rule matches, which the rule answers itself (a 200 with `{}`,
 * an HTML page, a list that never ends...). A rule may pass the request on first (`apply`), so that the
 * write happens and only its answer is replaced. Tests reach it through the real SDK, as a gateway or a
 * proxy that answers in the API's place would be reached.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

interface GatewayAnswer {
  status?: number;
  /** A string is sent as is; anything else as JSON. */
  body: unknown;
  contentType?: string;
}

interface GatewayRule {
  method?: string;
  /** Tested against the path without the query. */
  path: RegExp;
  /** How many requests the rule answers; default 1. */
  times?: number;
  /** Pass the request on to the emulator first (so that it is applied), then answer with the rule's answer. */
  apply?: boolean;
  /** The answer, or a function of the query string. */
  answer: GatewayAnswer | ((query: URLSearchParams) => GatewayAnswer);
}

export interface Gateway {
  baseURL: string;
  /** Method, path and query of every request, in order. */
  seen: string[];
  rules: GatewayRule[];
  add(rule: GatewayRule): void;
  close(): Promise<void>;
}

export async function startGateway(emulatorOrigin: string): Promise<Gateway> {
  const seen: string[] = [];
  const rules: GatewayRule[] = [];
  const sockets = new Set<Socket>();
  const target = new URL(emulatorOrigin);

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (typeof v === 'string' && !['content-length', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v;
            resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://gateway.test');
        seen.push(`${req.method} ${url.pathname}${url.search}`);
        const index = rules.findIndex((r) => (!r.method || r.method === req.method) && r.path.test(url.pathname));
        const rule = index >= 0 ? rules[index] : undefined;
        try {
          if (!rule) {
            const answer = await forward(req, Buffer.concat(chunks));
            res.writeHead(answer.status, answer.headers).end(answer.body);
            return;
          }
          rule.times = (rule.times ?? 1) - 1;
          if (rule.times <= 0) rules.splice(index, 1);
          if (rule.apply) await forward(req, Buffer.concat(chunks));
          const answer = typeof rule.answer === 'function' ? rule.answer(url.searchParams) : rule.answer;
          const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
          res
            .writeHead(answer.status ?? 200, {
              'content-type': answer.contentType ?? (typeof answer.body === 'string' ? 'text/html' : 'application/json'),
            })
            .end(text);
        } catch (error) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end(`gateway: ${(error as Error).message}`);
        }
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    seen,
    rules,
    add: (rule) => void rules.push(rule),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
