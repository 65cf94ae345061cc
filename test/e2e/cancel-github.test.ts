/**
 * The compiled actions cancelled while a call to GitHub is in flight (a GitHub that never answers): the
 * status action during its tracking-issue call (open-issue), the main action during its pull-request
 * comment (comment-on-pr). What the run knew before the call (outputs, job summary, exit code) must
 * survive, as the runner's later `if: always()` steps read it; the log must say the call may or may not
 * have taken effect; the run must not wait for GitHub.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, type ExpectStatic } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { actionYml, FAKE_GITHUB_TOKEN, leaks, runStatusAction, statusActionYml, STACK_TRACE_LINE } from '../helpers/action.ts';
import { makeCa, makeDatedCa, tempDir } from '../helpers/certs.ts';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.ts';
import { startAction, startStatusAction, waitFor, type StartedRun } from '../helpers/race.ts';
import { serverTest } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
/** The README: "a cancelled run still writes its summary and outputs within 2 s". */
const CANCEL_BOUND_MS = 2000;
/** For a busy machine (see test/rounds/cancel.test.ts). A run that waited for GitHub would take 60 s (timeout-seconds). */
const SLACK_MS = 8000;
const in20 = await makeDatedCa(new Date(Date.now() - 400 * DAY), new Date(Date.now() + 20 * DAY), 'Twenty');

const it = serverTest;
const inputs = (emu: Emulator): Record<string, string> => ({ 'admin-api-key': key, 'base-url': emu.baseURL, name: 'corp-ca' });
/** How many times each name was written to GITHUB_OUTPUT (`name<<delimiter` lines). */
const writes = (outputsFile: string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const [, name] of outputsFile.matchAll(/^([^<\n]+)<<.+$/gm)) counts[name!] = (counts[name!] ?? 0) + 1;
  return counts;
};

/** Every output but the tracking issue's two. */
const coverage = (outputs: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(outputs).filter(([name]) => !name.startsWith('issue-')));

/** A GitHub API that accepts every request and never answers. */
async function silentGitHub(track: <T extends { close(): Promise<void> }>(server: T) => T): Promise<FakeGitHub> {
  const github = track(await startFakeGitHub(FAKE_GITHUB_TOKEN));
  github.hang = true;
  return github;
}

/** Signals the run once its first request has reached GitHub, then waits for it to end; with the text to show on a failure. */
async function cancelOnGitHubCall(started: StartedRun, github: FakeGitHub, signal: NodeJS.Signals) {
  await waitFor(() => github.requests.length > 0, 'a request to reach GitHub', 60_000);
  started.signal(signal);
  const run = await started.done;
  return { run, why: `${run.stdout}\n${run.stderr}\n--- summary ---\n${run.summary}\n--- outputs ---\n${run.outputsFile}` };
}

/**
 * What a run cancelled during a GitHub call must show, whichever action: exit 1 within the bound, every
 * output written once, the cancellation naming the GitHub write in flight, a warning that it may or may
 * not have taken effect, no stack trace, no secret.
 */
function expectCancelledCleanly(
  { run, why }: Awaited<ReturnType<typeof cancelOnGitHubCall>>,
  expected: { signal: NodeJS.Signals; outputs: string[]; inFlight: string; warning: { title: string; message: RegExp } },
  expect: ExpectStatic,
): void {
  expect(run.code, why).toBe(1);
  expect(run.signalledMs, why).toBeLessThan(CANCEL_BOUND_MS + SLACK_MS);
  // Each output exactly once: a name written twice would be ambiguous to the runner.
  expect(writes(run.outputsFile), why).toEqual(Object.fromEntries(expected.outputs.map((name) => [name, 1])));
  const cancelled = run.annotations.find((a) => a.level === 'error' && a.title === 'cancelled');
  expect(cancelled?.message, why).toMatch(
    new RegExp(`^The run was cancelled \\(${expected.signal}\\)\\. In flight: ${expected.inFlight}\\.`),
  );
  expect(run.annotations, why).toContainEqual(
    expect.objectContaining({ level: 'warning', title: expected.warning.title, message: expect.stringMatching(expected.warning.message) }),
  );
  expect(run.everything, why).not.toMatch(STACK_TRACE_LINE);
  expect(leaks(run, [key, FAKE_GITHUB_TOKEN]), why).toEqual([]);
}

describe.concurrent('compiled status action: cancelled while the tracking issue is being written', () => {
  it.for(['SIGINT', 'SIGTERM'] as const)(
    '%s: every output but the issue ones as without open-issue, written once; the summary; exit 1 within the grace',
    async (signal, { emulator, track, expect }) => {
      const emu = await emulator();
      const github = await silentGitHub(track);
      const soon = emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
      // The same run without open-issue: what every other output must say.
      const plain = await runStatusAction(inputs(emu));
      expect(plain.code).toBe(0);

      const started = startStatusAction(
        { ...inputs(emu), 'open-issue': 'true' },
        { env: { GITHUB_API_URL: github.url, GITHUB_RUN_ID: '4242' }, timeoutMs: 90_000 },
      );
      const cancelled = await cancelOnGitHubCall(started, github, signal);
      expectCancelledCleanly(
        cancelled,
        {
          signal,
          outputs: Object.keys(statusActionYml.outputs),
          inFlight: 'open or update the tracking issue',
          warning: { title: 'open-issue', message: /the issue may or may not have been updated\. The next scheduled run .* reconcile/ },
        },
        expect,
      );
      const { run, why } = cancelled;
      expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/example/repo/issues']);
      expect(coverage(run.outputs), why).toEqual(coverage(plain.outputs));
      expect(run.outputs, why).toMatchObject({ 'renewal-due': 'true', 'certificate-id': soon.id, name: 'corp-ca', count: '1' });
      expect(run.outputs['issue-number'], why).toBe('');
      expect(run.outputs['issue-action'], why).toBe('cancelled');
      expect(run.summary.match(/## OpenAI mTLS certificates: renewal status/g), why).toHaveLength(1);
      expect(run.summary, why).toMatch(/🔔 Renewal due: the organization's coverage, by cert_\w+ \("corp-ca"\), ends on/);
      expect(run.summary, why).toContain(
        'Tracking issue: not confirmed, because the run was cancelled while updating it: it may or may not have been updated; the next scheduled run will reconcile it.',
      );
      expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    },
  );
});

describe.concurrent('compiled main action: cancelled while the pull-request comment is being written', () => {
  it.for(['SIGINT', 'SIGTERM'] as const)(
    '%s: the outputs and the summary of the upload, each output once, a warning that the comment may or may not be posted, exit 1',
    async (signal, { emulator, track, expect }) => {
      const emu = await emulator();
      const github = await silentGitHub(track);
      const eventPath = path.join(tempDir(), 'event.json');
      fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 } }));
      const started = startAction(
        { 'admin-api-key': key, certificate: makeCa({ cn: `Comment ${signal}` }).pem, 'base-url': emu.baseURL, 'comment-on-pr': 'true' },
        { env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_API_URL: github.url }, timeoutMs: 90_000 },
      );
      const cancelled = await cancelOnGitHubCall(started, github, signal);
      expectCancelledCleanly(
        cancelled,
        {
          signal,
          outputs: Object.keys(actionYml.outputs),
          inFlight: 'write the pull-request comment',
          warning: {
            title: 'comment-on-pr',
            message: /cancelled while the pull-request comment was being written.*it may or may not have been posted/,
          },
        },
        expect,
      );
      const { run, why } = cancelled;
      expect(emu.certificates, why).toHaveLength(1);
      expect(run.outputs, why).toMatchObject({ 'certificate-id': emu.certificates[0]!.id, uploaded: 'true' });
      expect(run.summary.match(/## OpenAI mTLS certificate\n/g), why).toHaveLength(1);
    },
  );
});
