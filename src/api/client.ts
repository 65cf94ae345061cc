import OpenAI from 'openai';
import type { Settings } from '../inputs.js';
import { createNodeFetch } from './transport.js';

export interface ClientTarget {
  client: OpenAI;
  /** The base URL every call goes to (the mTLS host when a client certificate is presented). */
  baseURL: string;
  /** The proxy in use, without credentials, when the environment names one. */
  proxy: string | undefined;
}

/**
 * The SDK client, configured only from settings: base URL, key, retries and timeout are passed
 * explicitly so nothing is inherited from the environment by accident (OPENAI_API_KEY,
 * OPENAI_ORG_ID, OPENAI_LOG), and the SDK's own logging is off so no request or response is printed.
 * (The SDK still adds headers named in OPENAI_CUSTOM_HEADERS, which a gateway may rely on.)
 *
 * Requests go over Node's `http`/`https` modules (transport.ts), the quickest way to start, with the
 * client certificate when one is to be presented. When the environment names a proxy, they go through
 * undici's EnvHttpProxyAgent instead, which honours HTTP(S)_PROXY and NO_PROXY; undici is loaded only
 * then, so other runs do not pay for it.
 */
export async function createClient(settings: Settings, env: NodeJS.ProcessEnv = process.env): Promise<ClientTarget> {
  const { clientCertificate: cert, clientKey: key } = settings;
  const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
  const baseURL = tls ? settings.mtlsBaseURL : settings.baseURL;
  const proxy = proxyFromEnv(baseURL, env);
  const options: ConstructorParameters<typeof OpenAI>[0] = {
    adminAPIKey: settings.adminApiKey,
    apiKey: null,
    organization: null,
    project: null,
    baseURL,
    maxRetries: settings.maxRetries,
    timeout: settings.timeoutMs,
    logLevel: 'off',
  };
  if (proxy) {
    const { EnvHttpProxyAgent } = await import('undici');
    // `connect` applies to direct connections (hosts in NO_PROXY), `requestTls` to the TLS session
    // tunnelled through the proxy.
    const dispatcher = new EnvHttpProxyAgent({ connect: tls ?? {}, requestTls: tls ?? {} });
    options.fetchOptions = { dispatcher } as NonNullable<typeof options.fetchOptions>;
  } else {
    options.fetch = createNodeFetch(tls);
  }
  return { client: new OpenAI(options), baseURL, proxy };
}

/** The proxy the environment names for this URL's scheme (as undici reads it), credentials removed. */
export function proxyFromEnv(url: string, env: NodeJS.ProcessEnv): string | undefined {
  const https = url.startsWith('https:');
  const http = env.http_proxy ?? env.HTTP_PROXY;
  const raw = https ? (env.https_proxy ?? env.HTTPS_PROXY ?? http) : http;
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
