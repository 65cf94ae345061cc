// The floor of the action's own stack: what any action built on @actions/core and the official openai
// SDK, bundled the same way (ncc), pays for a plain upload. It reads its inputs as the action does, makes
// the same requests (list, upload, list) and sets two outputs, and does nothing else: no checks of the
// certificate, no plan, no summary. bench.mjs bundles it with ncc and times it beside the action.
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
const list = async () => {
  const all = [];
  for await (const item of client.admin.organization.certificates.list({ limit: 100, order: 'asc' })) all.push(item);
  return all;
};
await list();
const name = core.getInput('name');
const created = await client.admin.organization.certificates.create(
  { certificate: core.getInput('certificate'), ...(name ? { name } : {}) },
  { maxRetries: 0 },
);
await list();
core.setOutput('certificate-id', created.id);
core.setOutput('expires-at', String(created.certificate_details.expires_at ?? ''));
