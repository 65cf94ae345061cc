import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';

/** A client certificate to present on every HTTPS connection. */
export interface ClientTls {
  cert: string;
  key: string;
}

/**
 * A `fetch` for the SDK over Node's `http`/`https` modules, used when no proxy is involved (proxied
 * requests go through undici, see client.ts). With `tls`, every HTTPS connection presents that client
 * certificate, over connections of its own that are kept alive between calls.
 *
 * Why not the built-in fetch: on a cold start it compiles undici's WebAssembly HTTP parser, and after a
 * second response V8 re-compiles that parser on a worker thread which the process then waits for at
 * exit. `http` parses with Node's native llhttp. Measured: a plain run about 80 ms shorter (README, Performance).
 *
 * It does what the certificate endpoints need and no more: string or byte bodies, no redirects
 * (a 3xx is handed to the SDK as an error status), gzip/deflate/br bodies decoded, the SDK's
 * AbortSignal honoured for its timeout. Failures reject with a `TypeError('fetch failed')` whose
 * `cause` is Node's error, the shape Node's own fetch gives, so error reporting sees one shape.
 */
export function createNodeFetch(tls?: ClientTls): typeof fetch {
  const tlsAgent = tls && new https.Agent({ keepAlive: true, cert: tls.cert, key: tls.key });
  return (input, init) => send(input, init ?? {}, tlsAgent);
}

/** The plain transport: Node's global agents, no client certificate. */
export const nodeFetch: typeof fetch = createNodeFetch();

function send(input: Parameters<typeof fetch>[0], init: RequestInit, tlsAgent: https.Agent | undefined): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : url.protocol === 'http:' ? http.request : undefined;
    if (!request) {
      reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
      return;
    }
    const body = requestBody(init.body);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    // An abort (the SDK's timeout) rejects as itself, at any point, so that the SDK reports a timeout.
    const failed = (error: unknown) =>
      reject((error as Error | undefined)?.name === 'AbortError' ? error : new TypeError('fetch failed', { cause: error }));
    if (init.signal?.aborted) {
      reject(init.signal.reason);
      return;
    }

    // No agent means Node's global one; the client certificate's agent is for HTTPS only.
    const req = request(
      url,
      { method: init.method ?? 'GET', headers, signal: init.signal ?? undefined, agent: secure ? tlsAgent : undefined },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', failed);
        res.on('end', () => {
          try {
            resolve(toResponse(res, Buffer.concat(chunks), init.method));
          } catch (error) {
            failed(error);
          }
        });
      },
    );
    req.on('error', failed);
    req.end(body);
  });
}

function requestBody(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('fetch failed: only string and byte request bodies are supported');
}

const noBody = new Set([101, 204, 205, 304]);

function toResponse(res: http.IncomingMessage, raw: Buffer, method: string | undefined): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode ?? 0;
  const empty = noBody.has(status) || method === 'HEAD';
  const encoding = headers.get('content-encoding')?.trim().toLowerCase();
  let bytes = raw;
  if (!empty && raw.length > 0 && encoding && encoding !== 'identity') {
    bytes = decode(raw, encoding);
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  return new Response(empty ? null : bytes, { status, statusText: res.statusMessage ?? '', headers });
}

function decode(raw: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(raw);
    case 'deflate':
      return zlib.inflateSync(raw);
    case 'br':
      return zlib.brotliDecompressSync(raw);
    default:
      throw new Error(`unsupported content-encoding "${encoding}"`);
  }
}
