import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';

/**
 * A `fetch` for the SDK over Node's `http`/`https` modules, used when no proxy and no client
 * certificate is involved (those go through undici, see client.ts).
 *
 * Why not the built-in fetch: on a cold start it compiles undici's WebAssembly HTTP parser, and after a
 * second response V8 re-compiles that parser on a worker thread which the process then waits for at
 * exit. `http` parses with Node's native llhttp. Measured with `npm run bench`: about 60 ms less per run.
 *
 * It does what the certificate endpoints need and no more: string or byte bodies, no redirects
 * (a 3xx is handed to the SDK as an error status), gzip/deflate/br bodies decoded, the SDK's
 * AbortSignal honoured for its timeout. Failures reject with a `TypeError('fetch failed')` whose
 * `cause` is Node's error, the shape Node's own fetch gives, so error reporting sees one shape.
 */
export const nodeFetch: typeof fetch = (input, init = {}) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const request = url.protocol === 'https:' ? https.request : url.protocol === 'http:' ? http.request : undefined;
    if (!request) {
      reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
      return;
    }
    const body = requestBody(init.body);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    const failed = (error: unknown) => reject(new TypeError('fetch failed', { cause: error }));
    if (init.signal?.aborted) {
      reject(init.signal.reason);
      return;
    }

    const req = request(url, { method: init.method ?? 'GET', headers, signal: init.signal ?? undefined }, (res) => {
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
    });
    req.on('error', (error) => (error.name === 'AbortError' ? reject(error) : failed(error)));
    req.end(body);
  });

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
