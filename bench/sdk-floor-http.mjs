// The floor for an action that uses the official SDK over the action's own node:http transport
// (src/api/transport.ts): as sdk-floor.mjs, with the SDK's `fetch` option set. With BENCH_LIST_FIRST=1
// it first lists the organization's certificates, as the action's plain upload does (two calls).
import OpenAI from 'openai';
import { nodeFetch } from '../src/api/transport.ts';

const client = new OpenAI({
  adminAPIKey: process.env.BENCH_ADMIN_KEY,
  apiKey: null,
  baseURL: process.env.BENCH_BASE_URL,
  logLevel: 'off',
  maxRetries: 0,
  fetch: nodeFetch,
});
if (process.env.BENCH_LIST_FIRST === '1') await client.admin.organization.certificates.list({ limit: 100 });
const created = await client.admin.organization.certificates.create({ certificate: process.env.BENCH_CERTIFICATE, name: 'bench' });
process.stdout.write(`${created.id}\n`);
