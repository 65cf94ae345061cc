import OpenAI from 'openai';
import { isLoopback, type Connection } from '../inputs/connection.js';

export interface ClientTarget {
  client: OpenAI;
  /** The base URL every call goes to (the mTLS host when a client certificate is presented). */
  baseURL: string;
  /** The proxy in use, without credentials, when the environment names one. */
  proxy: string | undefined;
}

type ClientOptions = NonNullable<ConstructorParameters<typeof OpenAI>[0]>;

/**
 * The SDK client, configured only from the connection settings: base URL, key, retries and timeout are
 * passed explicitly so nothing is inherited from the environment by accident (OPENAI_BASE_URL,
 * OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_LOG), and the SDK's own logging is off so no request or response
 * is printed. (The SDK still adds headers named in OPENAI_CUSTOM_HEADERS, which a gateway may rely on.)
 *
 * Transport, maintained by others in every case, and the same behaviour on every path: redirects are
 * never followed (a 3xx reaches the SDK as an error status, so the admin key is not sent on to another
 * host), and bodies are decoded as `fetch` decodes them.
 * - Plain runs use the SDK's default: Node's built-in `fetch`.
 * - A proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) or a client certificate uses undici's own `fetch` with a
 *   dispatcher from the same package, as the SDK's documentation asks: an `EnvHttpProxyAgent` (which
 *   honours NO_PROXY) or an `Agent`, presenting the client certificate when there is one. undici is
 *   loaded only then.
 * - A loopback host (127.x.y.z, localhost, [::1]) is always reached directly, over http or https, whatever
 *   the proxy variables say: a proxy is another host, and plain http to it would carry the admin key in
 *   clear (base-url allows http only for loopback, on the promise that nothing leaves the machine). When a
 *   proxy variable is set (or NODE_USE_ENV_PROXY, with which Node's own `fetch` reads them), the direct
 *   route is made explicit with an undici `Agent`, so no global setting can send the request elsewhere.
 */
export async function createClient(connection: Connection, env: NodeJS.ProcessEnv = process.env): Promise<ClientTarget> {
  const { clientCertificate: cert, clientKey: key } = connection;
  const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
  const baseURL = tls ? connection.mtlsBaseURL : connection.baseURL;
  const direct = isLoopbackUrl(baseURL);
  const proxy = direct ? undefined : proxyFromEnv(baseURL, env);
  const { httpProxy, httpsProxy } = proxyVariables(env);
  const proxyConfigured = Boolean(httpProxy || httpsProxy || (env.NODE_USE_ENV_PROXY ?? '').trim());
  const options: ClientOptions = {
    adminAPIKey: connection.adminApiKey,
    apiKey: null,
    organization: null,
    project: null,
    baseURL,
    maxRetries: connection.maxRetries,
    timeout: connection.timeoutMs,
    logLevel: 'off',
    fetchOptions: { redirect: 'manual' },
  };
  if (proxy || tls || (direct && proxyConfigured)) {
    const undici = await import('undici');
    // undici's own limits must not cut a request shorter than timeout-seconds (the SDK's timeout).
    const limits = { headersTimeout: connection.timeoutMs, bodyTimeout: connection.timeoutMs };
    // `connect` applies to direct connections (all of them without a proxy, hosts in NO_PROXY with one),
    // `requestTls` to the TLS session tunnelled through the proxy. The proxy variables are passed as read
    // here, so that the proxy named in the log is the one used.
    const dispatcher = proxy
      ? new undici.EnvHttpProxyAgent({ ...limits, ...proxyVariables(env), connect: tls ?? {}, requestTls: tls ?? {} })
      : new undici.Agent({ ...limits, connect: tls ?? {} });
    options.fetch = undici.fetch as unknown as NonNullable<ClientOptions['fetch']>;
    options.fetchOptions = { dispatcher, redirect: 'manual' };
  }
  return { client: new OpenAI(options), baseURL, proxy };
}

/** Whether the URL's host is a loopback address or name (see `isLoopback`). */
function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopback(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** HTTP(S)_PROXY and NO_PROXY, lower case first, as undici reads them. */
function proxyVariables(env: NodeJS.ProcessEnv): { httpProxy: string | undefined; httpsProxy: string | undefined; noProxy: string } {
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY;
  return { httpProxy, httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? httpProxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? '' };
}

/** The proxy the environment names for this URL's scheme, credentials removed. */
function proxyFromEnv(url: string, env: NodeJS.ProcessEnv): string | undefined {
  const { httpProxy, httpsProxy } = proxyVariables(env);
  const raw = url.startsWith('https:') ? httpsProxy : httpProxy;
  if (!raw) return undefined;
  try {
    const parsed = new URL(raw);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable proxy URL)';
  }
}
