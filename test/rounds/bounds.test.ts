/**
 * Issue 21, over the compiled actions, each in 20 seeded rounds (test/helpers/rounds.ts): every run ends
 * within the bound the README gives ("How long a run can take"), with an error or warning that says why,
 * when a certificate list never ends, when a gateway drops the query string (so `after` is lost and the
 * first page comes back), and when the GitHub API accepts the connection and never answers.
 *
 * A list's bound is in pages: it stops on a page that brings nothing new, on a repeated cursor, or after
 * 200 pages (or more items than a scope can hold); each round checks it stopped at the first page that
 * brought nothing new, or sooner. A GitHub call's bound is in time: timeout-seconds for the answer to
 * start, as long again for it to end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator, RecordedRequest } from '../emulator/emulator.ts';
import {
  actionYml,
  DIST,
  FAKE_GITHUB_TOKEN,
  leaks,
  spawnCompiled,
  STATUS_DIST,
  statusActionYml,
  type ActionRun,
  STACK_TRACE_LINE,
} from '../helpers/action.ts';
import { makeCa, makeDatedCa, tempDir } from '../helpers/certs.ts';
import { startFakeGitHub } from '../helpers/fake-github.ts';
import { seededRandom } from '../helpers/race.ts';
import { inRounds, onEmulator, seedsFrom } from '../helpers/rounds.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
/** What the action asks for a page (src/limits.ts PAGE_SIZE), and what the emulator gives without `limit`. */
const PAGE = 100;
const DEFAULT_PAGE = 20;
/** The README's bound on a list. */
const MAX_PAGES = 200;
/** Start-up and the OpenAI reads of a run on a busy machine, on top of a GitHub call's bound. */
const SLACK_MS = 20_000;
// Made once for the file.
const ca = makeCa({ cn: 'Bounded CA' });
const filler = makeCa({ cn: 'Filler CA' });
const renewalDue = await makeDatedCa(new Date(Date.now() - DAY), new Date(Date.now() + 20 * DAY), 'Due CA');
const LIST = /^\/v1\/organization(\/projects\/[\w-]+)?\/certificates$/;

type Which = 'main' | 'status';
const run = (which: Which, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun & { ended: number }> =>
  which === 'main'
    ? spawnCompiled(actionYml, DIST, inputs, { env, timeoutMs: 60_000 }).done
    : spawnCompiled(statusActionYml, STATUS_DIST, inputs, { env, timeoutMs: 60_000 }).done;
const inputsFor = (which: Which, emu: Emulator, extra: Record<string, string> = {}): Record<string, string> =>
  which === 'main'
    ? { 'admin-api-key': key, certificate: ca.pem, name: 'corp-ca', 'base-url': emu.baseURL, 'activate-projects': 'proj_alpha', ...extra }
    : { 'admin-api-key': key, 'base-url': emu.baseURL, name: 'corp-ca', ...extra };
const errorText = (r: ActionRun): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n');

/** The certificate-list requests of one run (those from `from` on), by list path. */
function listRequests(emu: Emulator, from: number): Map<string, RecordedRequest[]> {
  const byPath = new Map<string, RecordedRequest[]>();
  for (const q of emu.requests.slice(from)) {
    if (q.method !== 'GET' || !LIST.test(q.path)) continue;
    byPath.set(q.path, [...(byPath.get(q.path) ?? []), q]);
  }
  return byPath;
}

const ENDLESS =
  /^Could not list the certificates[^:]*: the pages never end \(the API sent (a page that says more follow but holds nothing|the same page again \(cursor cert_\w+\)|more than \d+ distinct items, more than the scope can hold)\)\. A gateway that drops the query string, or repeats pages, answers like this; the action stopped reading rather than loop\./m;

describe('issue 21: every run bounded, with a clear error or warning', () => {
  it('20 seeded rounds of a certificate list that always says has_more (some repeating the last item): both actions stop at the first page that brings nothing new (or more than a scope can hold), with an error naming the pages', async () => {
    await inRounds(seedsFrom(2501), 4, (seed) => {
      const random = seededRandom(seed * 7);
      const stored = Math.floor(random() * (PAGE + 30)); // 0 to 129: none, one page or two
      const repeatLastItem = random() < 0.5;
      const timeout = String(5 + Math.floor(random() * 26));
      return onEmulator({ latency: { minMs: 0, maxMs: 40, seed }, listing: { alwaysHasMore: true, repeatLastItem } }, async (emu) => {
        for (let i = 0; i < stored; i++) emu.addCertificate(filler.pem, { name: `other-${i}` });
        for (const which of ['main', 'status'] as const) {
          const from = emu.requests.length;
          const r = await run(which, inputsFor(which, emu, { 'timeout-seconds': timeout }));
          const why = `seed ${seed}: ${which}, ${stored} stored, repeatLastItem ${repeatLastItem}\n${r.stdout}${r.stderr}`;
          expect(r.code, why).toBe(1);
          expect(errorText(r), why).toMatch(ENDLESS);
          expect(r.everything, why).not.toMatch(STACK_TRACE_LINE);
          expect(leaks(r, [key]), why).toEqual([]);
          // Each list read its pages and one more, the first that brought nothing new: far from 200.
          const lists = listRequests(emu, from);
          expect(lists.size, why).toBeGreaterThan(0);
          for (const [list, requests] of lists) {
            expect(requests.length, `${why}\n${list}`).toBeLessThanOrEqual(Math.ceil(stored / (PAGE - 1)) + 1);
            expect(requests.length, `${why}\n${list}`).toBeLessThan(MAX_PAGES);
          }
        }
        expect(
          emu.requests.filter((q) => q.method !== 'GET'),
          `seed ${seed}`,
        ).toEqual([]);
        expect(emu.certificates, `seed ${seed}`).toHaveLength(stored);
      });
    });
  });

  it('20 seeded rounds of a gateway that drops the query string: both actions stop on the second page, the first again, with an error that names the gateway', async () => {
    await inRounds(seedsFrom(2601), 4, (seed) => {
      const random = seededRandom(seed * 11);
      // More certificates than one default page holds, so the list needs a second page it never gets.
      const stored = DEFAULT_PAGE + 1 + Math.floor(random() * 40);
      return onEmulator({ latency: { minMs: 0, maxMs: 40, seed }, listing: { dropQuery: true } }, async (emu) => {
        for (let i = 0; i < stored; i++) emu.addCertificate(filler.pem, { name: `other-${i}` });
        for (const which of ['main', 'status'] as const) {
          const from = emu.requests.length;
          const r = await run(which, inputsFor(which, emu));
          const why = `seed ${seed}: ${which}, ${stored} stored\n${r.stdout}${r.stderr}`;
          expect(r.code, why).toBe(1);
          expect(errorText(r), why).toMatch(ENDLESS);
          expect(errorText(r), why).toMatch(/the same page again \(cursor cert_\w+\).*drops the query string/);
          expect(r.everything, why).not.toMatch(STACK_TRACE_LINE);
          const lists = listRequests(emu, from);
          expect(lists.size, why).toBeGreaterThan(0);
          for (const [list, requests] of lists) expect(requests.length, `${why}\n${list}`).toBeLessThanOrEqual(2);
          expect(
            emu.requests.slice(from).every((q) => q.queryDropped),
            why,
          ).toBe(true);
        }
        expect(
          emu.requests.filter((q) => q.method !== 'GET'),
          `seed ${seed}`,
        ).toEqual([]);
      });
    });
  });

  it('20 seeded rounds of a GitHub API that accepts the connection and never answers: the comment or the tracking issue gives up after timeout-seconds, with a warning', async () => {
    await inRounds(seedsFrom(2701), 5, async (seed) => {
      const random = seededRandom(seed * 13);
      const which: Which = seed % 2 ? 'main' : 'status';
      const seconds = 2 + Math.floor(random() * 4); // 2 to 5
      const pr = 1 + Math.floor(random() * 500);
      const silent = await startFakeGitHub(FAKE_GITHUB_TOKEN);
      silent.hang = true; // accepts the connection and the request, and never answers
      try {
        return await onEmulator({ latency: { minMs: 0, maxMs: 40, seed } }, async (emu) => {
          emu.addCertificate(renewalDue.pem, { name: 'corp-ca', activeOrg: true });
          const env: Record<string, string> = { GITHUB_API_URL: silent.url };
          let inputs: Record<string, string>;
          if (which === 'main') {
            const eventPath = path.join(tempDir(), 'event.json');
            fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: pr } }));
            Object.assign(env, { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath });
            inputs = inputsFor('main', emu, { 'dry-run': 'true', 'comment-on-pr': 'true', 'timeout-seconds': String(seconds) });
          } else {
            inputs = inputsFor('status', emu, { 'open-issue': 'true', 'timeout-seconds': String(seconds) });
          }
          const r = await run(which, inputs, env);
          const why = `seed ${seed}: ${which}, timeout-seconds ${seconds}\n${r.stdout}${r.stderr}`;
          expect(r.code, why).toBe(0);
          // One GitHub request, never answered: the run gave up on it after timeout-seconds, not sooner (less
          // a second for the request's way to the server), and not much later.
          expect(silent.requests, why).toHaveLength(1);
          const waited = r.ended - silent.requests[0]!.at;
          expect(waited, why).toBeGreaterThanOrEqual(seconds * 1000 - 1000);
          expect(waited, why).toBeLessThan(2 * seconds * 1000 + SLACK_MS);
          const timedOut = `GitHub's API (${silent.url}) did not answer within ${seconds} s (timeout-seconds). Check the network or proxy between the runner and GitHub, or raise timeout-seconds.`;
          const warnings = r.annotations.filter((a) => a.level === 'warning').map((a) => a.message);
          if (which === 'main') {
            expect(`${silent.requests[0]!.method} ${silent.requests[0]!.path}`, why).toBe(`GET /repos/example/repo/issues/${pr}/comments`);
            expect(warnings, why).toContain(`Could not comment on pull request #${pr}: ${timedOut} The run itself is unaffected.`);
          } else {
            expect(`${silent.requests[0]!.method} ${silent.requests[0]!.path}`, why).toMatch(/^GET \/repos\/example\/repo\/issues\b/);
            expect(warnings, why).toContain(
              `open-issue: could not open or update the tracking issue: ${timedOut} The status outputs and the exit code are unaffected.`,
            );
            expect(r.outputs, why).toMatchObject({ 'renewal-due': 'true', 'issue-action': 'failed' });
          }
          expect(r.everything, why).not.toMatch(STACK_TRACE_LINE);
        });
      } finally {
        await silent.close();
      }
    });
  });
});
