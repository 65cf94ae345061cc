import OpenAI from 'openai';
import type { Settings } from '../inputs.js';
import { nodeFetch } from './transport.js';

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
 * A plain run goes over Node's `http`/`https` modules (transport.ts), the quickest way to start.
 * When a proxy is set, or a client certificate is to be presented, requests go through undici's
 * EnvHttpProxyAgent, which honours HTTP(S)_PROXY and NO_PROXY in either case. undici is loaded only
 * then, so a plain run does not pay for it.
 */
export async function createClient(settings: Settings, env: NodeJS.ProcessEnv = process.env): Promise<ClientTarget> {
  const mtls = settings.clientCertificate !== undefined && settings.clientKey !== undefined;
  const baseURL = mtls ? settings.mtlsBaseURL : settings.baseURL;
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
  if (mtls || proxy) {
    const { EnvHttpProxyAgent } = await import('undici');
    // `connect` applies to direct connections, `requestTls` to the TLS session tunnelled through a proxy.
    const tls = mtls ? { cert: settings.clientCertificate, key: settings.clientKey } : {};
    const dispatcher = new EnvHttpProxyAgent({ connect: tls, requestTls: tls });
    options.fetchOptions = { dispatcher } as NonNullable<typeof options.fetchOptions>;
  } else {
    options.fetch = nodeFetch;
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
