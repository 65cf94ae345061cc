// The floor of the action's own stack: what any action built on @actions/core and the official openai
// SDK, bundled the same way (ncc), pays for the same requests. It reads its inputs as the action does,
// makes the same requests and sets two outputs, and does nothing else: no checks of the certificate, no
// plan, no summary. bench.mjs bundles it with ncc and times it beside the action, in two scenarios
// (BENCH_SCENARIO):
//   stored  the certificate is stored already: list, then read the listed copy with its content (what the
//           action does before it reuses a copy);
//   upload  a plain upload: list, upload, list.
import * as core from '@actions/core';
import OpenAI from 'openai';

const client = new OpenAI({
  adminAPIKey: core.getInput('admin-api-key'),
  apiKey: null,
  organization: null,
  project: null,
  baseURL: core.getInput('base-url'),
  maxRetries: 3,
  timeout: 60_000,
  logLevel: 'off',
});
const certificates = client.admin.organization.certificates;
const list = async () => {
  const all = [];
  for await (const item of certificates.list({ limit: 100, order: 'asc' })) all.push(item);
  return all;
};
const listed = await list();
let kept;
if (process.env.BENCH_SCENARIO === 'stored') {
  kept = await certificates.retrieve(listed[0].id, { include: ['content'] });
} else {
  const name = core.getInput('name');
  kept = await certificates.create({ certificate: core.getInput('certificate'), ...(name ? { name } : {}) }, { maxRetries: 0 });
  await list();
}
core.setOutput('certificate-id', kept.id);
core.setOutput('expires-at', String(kept.certificate_details.expires_at ?? ''));
