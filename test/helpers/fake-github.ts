/**
 * A local fake of the few GitHub REST endpoints the actions use: for the pull-request comment, list,
 * create and update issue comments; for the status action's tracking issue, list the repository's
 * issues (by state and label), create and update an issue, and comment on it. Strict about the token
 * and the paths; records requests. It can refuse everything (failWith) or never answer (hang).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  body: string;
}

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: string[];
  comments: FakeComment[];
  /** Set on pull requests, which the issues list returns too. */
  pull_request?: { url: string };
}

export interface FakeGitHub {
  url: string;
  /** Comments on the pull request (issue `issue` of startFakeGitHub). */
  comments: FakeComment[];
  /** The repository's issues, for the tracking issue. */
  issues: FakeIssue[];
  /** Every request, as it arrived (`at`: Date.now() then). */
  requests: Array<{ method: string; path: string; query: Record<string, string>; body: unknown; at: number }>;
  /** Answer every request with this status (e.g. 403, as a fork's read-only token gets). */
  failWith: number | undefined;
  /** Never answer: hold every request open until the client gives up (or the fake closes). */
  hang: boolean;
  /** Adds an issue as a person or another tool would have opened it. */
  addIssue(issue: Partial<FakeIssue> & { title: string; body: string }): FakeIssue;
  close(): Promise<void>;
}

export async function startFakeGitHub(token: string, repo = 'example/repo', issue = 7): Promise<FakeGitHub> {
  let nextId = 1000;
  let nextNumber = 100;
  const state: FakeGitHub = {
    url: '',
    comments: [],
    issues: [],
    requests: [],
    failWith: undefined,
    hang: false,
    addIssue: (fields) => {
      const added: FakeIssue = { number: nextNumber++, state: 'open', state_reason: null, labels: [], comments: [], ...fields };
      state.issues.push(added);
      return added;
    },
    close: async () => undefined,
  };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const asApi = (i: FakeIssue) => ({
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    state_reason: i.state_reason,
    labels: i.labels.map((name) => ({ name })),
    ...(i.pull_request ? { pull_request: i.pull_request } : {}),
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = raw ? JSON.parse(raw) : null;
    state.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), body, at });
    if (state.hang) return; // no answer, ever
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

    if (url.pathname === `/repos/${repo}/issues` && req.method === 'GET') {
      const wanted = url.searchParams.get('state') ?? 'open';
      const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
      const found = state.issues
        .filter((i) => wanted === 'all' || i.state === wanted)
        .filter((i) => labels.every((l) => i.labels.includes(l)))
        .sort((a, b) => b.number - a.number);
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      return send(res, 200, found.slice(0, perPage).map(asApi));
    }
    if (url.pathname === `/repos/${repo}/issues` && req.method === 'POST') {
      const created = state.addIssue({
        title: String(body?.title ?? ''),
        body: String(body?.body ?? ''),
        labels: Array.isArray(body?.labels) ? body.labels.map(String) : [],
      });
      return send(res, 201, asApi(created));
    }
    const one = new RegExp(`^/repos/${repo}/issues/(\\d+)(/comments)?$`).exec(url.pathname);
    const target = one ? state.issues.find((i) => i.number === Number(one[1])) : undefined;
    if (one && !target) return send(res, 404, { message: 'Not Found' });
    if (target && one?.[2] && req.method === 'POST') {
      const comment = { id: nextId++, body: String(body?.body ?? '') };
      target.comments.push(comment);
      return send(res, 201, comment);
    }
    if (target && !one?.[2] && req.method === 'PATCH') {
      if (typeof body?.title === 'string') target.title = body.title;
      if (typeof body?.body === 'string') target.body = body.body;
      if (body?.state === 'open' || body?.state === 'closed') target.state = body.state;
      if (typeof body?.state_reason === 'string') target.state_reason = body.state_reason;
      return send(res, 200, asApi(target));
    }
    return send(res, 404, { message: 'Not Found' });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections(); // requests held open by hang
      server.close(() => resolve());
    });
  return state;
}
