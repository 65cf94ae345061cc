import OpenAI from 'openai';
import type { Settings } from '../inputs.js';

export interface ClientTarget {
  client: OpenAI;
  /** The base URL every call goes to (the mTLS host when a client certificate is presented). */
  baseURL: string;
}

/**
 * The SDK client, configured only from settings: base URL, key, retries and timeout are passed
 * explicitly so nothing is inherited from the environment by accident (OPENAI_API_KEY,
 * OPENAI_ORG_ID, OPENAI_LOG), and the SDK's own logging is off so no request or response is printed.
 */
export async function createClient(settings: Settings): Promise<ClientTarget> {
  const mtls = settings.clientCertificate !== undefined && settings.clientKey !== undefined;
  const baseURL = mtls ? settings.mtlsBaseURL : settings.baseURL;
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
  if (mtls) {
    // Loaded only when a client certificate is given, so a plain run does not pay for it.
    const { Agent } = await import('undici');
    const dispatcher = new Agent({ connect: { cert: settings.clientCertificate, key: settings.clientKey } });
    options.fetchOptions = { dispatcher } as NonNullable<typeof options.fetchOptions>;
  }
  return { client: new OpenAI(options), baseURL };
}
