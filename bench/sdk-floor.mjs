// The floor for an action that must use the official SDK: Node starting, loading the bundled `openai`
// package, and making the one upload call. bench.mjs bundles this file with ncc, as the action is bundled.
import OpenAI from 'openai';

const client = new OpenAI({
  adminAPIKey: process.env.BENCH_ADMIN_KEY,
  apiKey: null,
  baseURL: process.env.BENCH_BASE_URL,
  logLevel: 'off',
  maxRetries: 0,
});
const created = await client.admin.organization.certificates.create({ certificate: process.env.BENCH_CERTIFICATE, name: 'bench' });
process.stdout.write(`${created.id}\n`);
