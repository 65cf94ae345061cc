/**
 * The compiled status action cancelled while its tracking-issue call is in flight (open-issue on, a GitHub
 * that never answers): the outputs that do not depend on the issue, the job summary and the exit code
 * must survive, as the runner's later `if: always()` steps read them; the run must not wait for GitHub.
 */
import { describe } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { FAKE_GITHUB_TOKEN, leaks, runStatusAction, statusActionYml } from '../helpers/action.ts';
import { makeDatedCa } from '../helpers/certs.ts';
import { startFakeGitHub } from '../helpers/fake-github.ts';
import { startStatusAction, waitFor } from '../helpers/race.ts';
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

describe.concurrent('compiled status action: cancelled while the tracking issue is being written', () => {
  it.for(['SIGINT', 'SIGTERM'] as const)(
    '%s: every output but the issue ones as without open-issue, written once; the summary; exit 1 within the grace',
    async (signal, { emulator, track, expect }) => {
      const emu = await emulator();
      const github = track(await startFakeGitHub(FAKE_GITHUB_TOKEN));
      github.hang = true;
      const soon = emu.addCertificate(in20.pem, { name: 'corp-ca', activeOrg: true });
      // The same run without open-issue: what every other output must say.
      const plain = await runStatusAction(inputs(emu));
      expect(plain.code).toBe(0);

      const started = startStatusAction(
        { ...inputs(emu), 'open-issue': 'true' },
        { env: { GITHUB_API_URL: github.url, GITHUB_RUN_ID: '4242' }, timeoutMs: 90_000 },
      );
      await waitFor(() => github.requests.length > 0, 'the tracking issue request to reach GitHub', 60_000);
      started.signal(signal);
      const run = await started.done;
      const why = `${run.stdout}\n${run.stderr}\n--- summary ---\n${run.summary}\n--- outputs ---\n${run.outputsFile}`;

      expect(run.code, why).toBe(1);
      expect(run.signalledMs, why).toBeLessThan(CANCEL_BOUND_MS + SLACK_MS);
      expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/example/repo/issues']);

      // Each output exactly once: a name written twice would be ambiguous to the runner.
      expect(writes(run.outputsFile), why).toEqual(Object.fromEntries(Object.keys(statusActionYml.outputs).map((name) => [name, 1])));
      expect(coverage(run.outputs), why).toEqual(coverage(plain.outputs));
      expect(run.outputs, why).toMatchObject({ 'renewal-due': 'true', 'certificate-id': soon.id, name: 'corp-ca', count: '1' });
      expect(run.outputs['issue-number'], why).toBe('');
      expect(run.outputs['issue-action'], why).toBe('cancelled');

      expect(run.summary.match(/## OpenAI mTLS certificates: renewal status/g), why).toHaveLength(1);
      expect(run.summary, why).toMatch(/🔔 Renewal due: the organization's coverage, by cert_\w+ \("corp-ca"\), ends on/);
      expect(run.summary, why).toContain(
        'Tracking issue: not confirmed, because the run was cancelled while updating it: it may or may not have been updated; the next scheduled run will reconcile it.',
      );
      const cancelled = run.annotations.find((a) => a.level === 'error' && a.title === 'cancelled');
      expect(cancelled?.message, why).toMatch(
        new RegExp(`^The run was cancelled \\(${signal}\\)\\. In flight: open or update the tracking issue\\.`),
      );
      expect(run.annotations, why).toContainEqual(
        expect.objectContaining({
          level: 'warning',
          title: 'open-issue',
          message: expect.stringMatching(/the issue may or may not have been updated\. The next scheduled run .* reconcile/),
        }),
      );
      expect(run.everything, why).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
      expect(leaks(run, [key, FAKE_GITHUB_TOKEN]), why).toEqual([]);
      expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    },
  );
});
