/**
 * Issue 21, over the compiled action: exactly one copy when upload answers are lost, late, refused or
 * cut; a duplicate left by an earlier run removed by the next; racing runs agreeing on one copy when the
 * API ignores `order`; runs of one CA near the 50-certificate cap; and every run bounded in time when a
 * list never ends, a gateway drops the query string, or the GitHub API never answers.
 */
import { createServer, type Server } from 'node:http';
import * as fs from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { leaks, runAction, runStatusAction, type ActionRun } from '../helpers/action.ts';
import { makeCa, tempDir } from '../helpers/certs.ts';
import { copiesOf, race, roundSeeds, seededRandom, type RaceResult } from '../helpers/race.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const UPLOAD = '/organization/certificates';
const track = closeAfterEach();
const emulator = async (options: EmulatorOptions = {}): Promise<Emulator> => track(await startEmulator(options));
// Made once for the file.
const ca = makeCa({ cn: 'Raced CA' });
const filler = makeCa({ cn: 'Filler CA' });
const posts = (emu: Emulator): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;
const errorsOf = (run: ActionRun) => run.annotations.filter((a) => a.level === 'error');
const noStack = /^\s+at .*:\d+:\d+\)?$/m;
const inputs = (emu: Emulator, extra: Record<string, string> = {}): Record<string, string> => ({
  'admin-api-key': key,
  certificate: ca.pem,
  name: 'corp-ca',
  'base-url': emu.baseURL,
  'activate-projects': 'proj_alpha',
  ...extra,
});

/**
 * After a race of runs of `ca`: exactly one copy stored, every run that succeeded names it, at most one run
 * claims the upload, the copy is active in proj_alpha and no other copy is; no run leaks the key or shows a
 * stack trace, and a run that failed says why in an error annotation.
 */
function expectOneCopy(emu: Emulator, result: RaceResult, opts: { allSucceed: boolean }): void {
  const why = result.describe();
  const copies = copiesOf(emu, ca.fingerprint);
  // When copies are left, the logs of the runs that went on with another copy than most runs did.
  const ids = result.runs.map((r) => r.outputs['certificate-id']).filter(Boolean);
  const most = ids.sort((a, b) => ids.filter((x) => x === b).length - ids.filter((x) => x === a).length)[0];
  const strays = result.runs.filter((r) => r.outputs['certificate-id'] !== most).map((r) => `--- run ${r.index} ---\n${r.log}`);
  const stored = copies.map((c) => `${c.id} created_at ${c.created_at}`).join(', ');
  expect(
    copies.map((c) => c.id),
    `${why}\nstored: ${stored}\n${strays.join('\n')}`,
  ).toHaveLength(1);
  const kept = copies[0]!.id;
  expect(emu.activeIn('proj_alpha'), why).toEqual([kept]);
  for (const r of result.runs) {
    expect(r.error, why).toBeUndefined();
    expect(r.log, why).not.toMatch(noStack);
    expect(leaks(r.run!, [key]), why).toEqual([]);
    if (r.code === 0) expect(r.outputs['certificate-id'], `${why}\n--- run ${r.index} ---\n${r.log}`).toBe(kept);
    else {
      expect(opts.allSucceed, `${why}\n--- run ${r.index} ---\n${r.log}`).toBe(false);
      expect(errorsOf(r.run!).length, `${why}\n--- run ${r.index} ---\n${r.log}`).toBeGreaterThan(0);
      expect(r.outputs['uploaded'], why).not.toBe('true');
    }
  }
  expect(result.runs.filter((r) => r.outputs['uploaded'] === 'true').length, why).toBeLessThanOrEqual(1);
}

describe('issue 21: one copy whatever answers were lost', () => {
  it('20 seeded rounds of racing runs (20 runs in every fifth round), upload answers randomly lost, late, cut, 500 or 429: one copy, one certificate-id, at most one uploaded=true', async () => {
    let runsInAll = 0;
    let succeeded = 0;
    let failedAttempts = 0;
    let racedRounds = 0;
    for (const seed of roundSeeds(20, 2101)) {
      const random = seededRandom(seed * 104729);
      const runs = seed % 5 === 0 ? 20 : 3 + Math.floor(random() * 3);
      const emu = await emulator({ latency: { minMs: 0, maxMs: 50, seed }, faultSeed: seed });
      const upload = { method: 'POST', path: UPLOAD, times: Infinity };
      emu.addFault({ ...upload, kind: 'drop-after', probability: 0.2 }); // stored, answer lost
      emu.addFault({ ...upload, kind: 'cut', cut: random() < 0.5 ? 'empty' : 'truncated', probability: 0.15 }); // stored, answer unreadable
      emu.addFault({ ...upload, kind: 'late', delayMs: 400, probability: 0.2 }); // stored late, answered late
      emu.addFault({ ...upload, kind: 'status', status: 500, probability: 0.15 }); // refused, nothing stored
      emu.addFault({ ...upload, kind: 'status', status: 429, headers: { 'retry-after-ms': '200' }, probability: 0.15 });
      const result = await race(() => inputs(emu), {
        runs,
        seed,
        spreadMs: 500,
        waves: random() < 0.5 ? 1 : 2,
        waveGapMs: 400,
        options: { timeoutMs: 120_000 },
      });
      await emu.settled();
      expectOneCopy(emu, result, { allSucceed: false });
      runsInAll += runs;
      succeeded += result.runs.filter((r) => r.code === 0).length;
      failedAttempts += result.runs.filter((r) => /Attempt \d+ to upload the certificate failed/.test(r.log)).length;
      if (posts(emu) >= 2) racedRounds++;
    }
    // The faults did fire (upload attempts failed and were recovered from), runs did race their uploads,
    // and nearly every run still succeeded.
    expect(failedAttempts).toBeGreaterThan(0);
    expect(racedRounds).toBeGreaterThan(0);
    expect(succeeded).toBeGreaterThanOrEqual(Math.floor(runsInAll * 0.9));
  }, 900_000);

  it('20 seeded rounds: duplicates an earlier run left (stored after the kept copy, inactive) are removed by the next run with reuse-existing on', async () => {
    for (const seed of roundSeeds(20, 2201)) {
      const random = seededRandom(seed);
      const emu = await emulator({ latency: { minMs: 0, maxMs: 30, seed } });
      const t = Math.floor(Date.now() / 1000) - 3600;
      const kept = emu.addCertificate(ca.pem, { name: 'corp-ca', createdAt: t, activeProjects: random() < 0.5 ? ['proj_alpha'] : [] });
      const extra = 1 + Math.floor(random() * 3);
      const orphans = Array.from({ length: extra }, (_, i) => emu.addCertificate(ca.pem, { name: 'corp-ca', createdAt: t + 60 * (i + 1) }));
      // The list may come in any order: the copy kept is the oldest by created_at, not the first listed.
      emu.listing.order = (['as-asked', 'desc', 'shuffled'] as const)[seed % 3];
      emu.listing.seed = seed;
      const runs = 1 + Math.floor(random() * 2);
      const result = await race(() => inputs(emu), { runs, seed, spreadMs: 200 });
      const why = result.describe();
      for (const r of result.runs) expect(r.code, `${why}\n${r.log}`).toBe(0);
      expect(
        emu.certificates.map((c) => c.id),
        why,
      ).toEqual([kept.id]);
      expect(emu.activeIn('proj_alpha'), why).toEqual([kept.id]);
      for (const r of result.runs) {
        expect(r.outputs['certificate-id'], why).toBe(kept.id);
        expect(r.outputs['uploaded'], why).toBe('false');
      }
      expect(posts(emu), why).toBe(0);
      // Every orphan was deleted by some run, and nothing else was.
      const deleted = new Set(emu.requests.filter((q) => q.method === 'DELETE').map((q) => q.path.split('/').pop()));
      expect([...deleted].sort(), why).toEqual(orphans.map((o) => o.id).sort());
    }
  }, 600_000);

  it('20 seeded rounds with `order` ignored (newest first or shuffled): racing runs agree on one copy', async () => {
    for (const seed of roundSeeds(20, 2301)) {
      const random = seededRandom(seed * 31);
      const emu = await emulator({ latency: { minMs: 0, maxMs: 40, seed }, listing: { order: seed % 2 ? 'desc' : 'shuffled', seed } });
      // Uploads held, so that the runs all plan before any copy is stored and each stores its own.
      emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 2000 + Math.floor(random() * 1000), times: Infinity });
      const runs = 3 + Math.floor(random() * 3);
      const result = await race(() => inputs(emu), { runs, seed, spreadMs: 100 });
      await emu.settled();
      expectOneCopy(emu, result, { allSucceed: true });
      expect(posts(emu), result.describe()).toBeGreaterThanOrEqual(2);
      expect(
        result.runs.filter((r) => r.outputs['uploaded'] === 'true'),
        result.describe(),
      ).toHaveLength(1);
    }
  }, 600_000);

  it('20 runs of one CA with 45 certificates stored, refused at the cap with either limit code: all succeed with one copy', async () => {
    let refused = 0;
    for (const [round, seed] of roundSeeds(2, 2401).entries()) {
      const emu = await emulator({
        latency: { minMs: 0, maxMs: 40, seed },
        certificateLimit: round === 0 ? {} : { code: 'too_many_certificates', status: 409 },
      });
      for (let i = 0; i < 45; i++) emu.addCertificate(filler.pem, { name: `other-${i}` });
      // Uploads are stored 8 s late, so that the runs plan before the first copy is stored, and the cap is reached.
      emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 8000, times: Infinity });
      const result = await race(() => inputs(emu), { runs: 20, seed, spreadMs: 300, options: { timeoutMs: 120_000 } });
      await emu.settled();
      expectOneCopy(emu, result, { allSucceed: true });
      expect(emu.certificates).toHaveLength(46);
      refused += result.runs.filter((r) => /refused at the certificate limit/.test(r.log)).length;
    }
    // The cap was reached: some runs were refused, and still succeeded with the copy a racing run stored.
    expect(refused).toBeGreaterThan(0);
  }, 600_000);
});

describe('issue 21: every run bounded in time', () => {
  it('a certificate list that always says has_more: both actions stop within seconds with an error naming the pages', async () => {
    const emu = await emulator({ listing: { alwaysHasMore: true } });
    emu.addCertificate(filler.pem, { name: 'other' });
    const main = await runAction(inputs(emu), { timeoutMs: 60_000 });
    const status = await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL }, { timeoutMs: 60_000 });
    for (const run of [main, status]) {
      expect(run.code, run.stdout).toBe(1);
      expect(run.ms).toBeLessThan(20_000);
      expect(
        errorsOf(run)
          .map((a) => a.message)
          .join('\n'),
      ).toMatch(/the pages never end/);
      expect(run.everything).not.toMatch(noStack);
    }
    expect(posts(emu)).toBe(0);
    expect(emu.requests.length).toBeLessThan(20);
  }, 120_000);

  it('a gateway that drops the query string (so `after` is lost and the first page comes back): an error, not a loop', async () => {
    const emu = await emulator({ listing: { dropQuery: true } });
    // More certificates than one default page (20) holds, so the list needs a second page it never gets.
    for (let i = 0; i < 25; i++) emu.addCertificate(filler.pem, { name: `other-${i}` });
    const main = await runAction(inputs(emu), { timeoutMs: 60_000 });
    const status = await runStatusAction({ 'admin-api-key': key, 'base-url': emu.baseURL }, { timeoutMs: 60_000 });
    for (const run of [main, status]) {
      expect(run.code, run.stdout).toBe(1);
      expect(run.ms).toBeLessThan(20_000);
      expect(
        errorsOf(run)
          .map((a) => a.message)
          .join('\n'),
      ).toMatch(/pages never end.*drops the query string/s);
    }
    expect(posts(emu)).toBe(0);
    expect(emu.requests.every((q) => q.queryDropped)).toBe(true);
    expect(emu.requests.length).toBeLessThan(20);
  }, 120_000);

  it('a GitHub API that accepts the connection and never answers: the comment gives up within timeout-seconds, with a warning', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer(() => undefined); // never answers
    silent.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    });
    const emu = await emulator();
    const dir = tempDir();
    const eventPath = path.join(dir, 'event.json');
    fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7 } }));
    const run = await runAction(inputs(emu, { 'dry-run': 'true', 'comment-on-pr': 'true', 'timeout-seconds': '3' }), {
      env: {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_API_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      },
      timeoutMs: 60_000,
    });
    expect(run.code, run.stdout).toBe(0);
    // Bounded by timeout-seconds (3 s) plus start-up, not by undici's 300 s.
    expect(run.ms).toBeLessThan(15_000);
    const warnings = run.annotations.filter((a) => a.level === 'warning').map((a) => a.message);
    expect(warnings.join('\n')).toMatch(/Could not comment on pull request #7.*(time|did not answer)/s);
  }, 120_000);
});
