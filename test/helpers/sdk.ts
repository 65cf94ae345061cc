import OpenAI from 'openai';
import { CertificateApi } from '../../src/api/certificates.ts';
import { DEFAULT_ADMIN_KEY } from '../emulator/emulator.ts';

export interface SdkOptions {
  key?: string;
  maxRetries?: number;
  timeout?: number;
}

/** A CertificateApi over the real SDK client, against `baseURL` (an emulator, or a test server in front of one). */
export function sdkApi(baseURL: string, options: SdkOptions = {}): CertificateApi {
  const client = new OpenAI({
    adminAPIKey: options.key ?? DEFAULT_ADMIN_KEY,
    apiKey: null,
    organization: null,
    project: null,
    baseURL,
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout ?? 5000,
    logLevel: 'off',
  });
  return new CertificateApi(client, baseURL);
}
