/**
 * A local fake of the few GitHub REST endpoints the action uses for its pull-request comment:
 * list, create and update issue comments. Strict about the token and the paths; records requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  body: string;
}

export interface FakeGitHub {
  url: string;
  comments: FakeComment[];
  requests: Array<{ method: string; path: string; body: unknown }>;
  /** Answer every request with this status (e.g. 403, as a fork's read-only token gets). */
  failWith: number | undefined;
  close(): Promise<void>;
}

export async function startFakeGitHub(token: string, repo = 'example/repo', issue = 7): Promise<FakeGitHub> {
  let nextId = 1000;
  const state: FakeGitHub = { url: '', comments: [], requests: [], failWith: undefined, close: async () => undefined };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = raw ? JSON.parse(raw) : null;
    state.requests.push({ method: req.method ?? '', path: url.pathname, body });
    if (req.headers.authorization !== `token ${token}` && req.headers.authorization !== `Bearer ${token}`)
      return send(res, 401, { message: 'Bad credentials' });
    if (state.failWith) return send(res, state.failWith, { message: 'Resource not accessible by integration' });
    const list = `/repos/${repo}/issues/${issue}/comments`;
    if (url.pathname === list && req.method === 'GET') return send(res, 200, state.comments);
    if (url.pathname === list && req.method === 'POST') {
      const comment = { id: nextId++, body: String(body?.body ?? '') };
      state.comments.push(comment);
      return send(res, 201, comment);
    }
    const update = new RegExp(`^/repos/${repo}/issues/comments/(\\d+)$`).exec(url.pathname);
    if (update && req.method === 'PATCH') {
      const comment = state.comments.find((c) => c.id === Number(update[1]));
      if (!comment) return send(res, 404, { message: 'Not Found' });
      comment.body = String(body?.body ?? '');
      return send(res, 200, comment);
    }
    return send(res, 404, { message: 'Not Found' });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
