/**
 * Issue 21, over the compiled action, each in 20 seeded rounds (test/helpers/rounds.ts), every round on its
 * own emulator: exactly one copy when upload answers are lost, late, refused or cut; a duplicate left by an
 * earlier run removed by the next; racing runs agreeing on one copy when the API ignores `order`; runs of
 * one CA near the 50-certificate cap.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/emulator.ts';
import { leaks, type ActionRun, STACK_TRACE_LINE } from '../helpers/action.ts';
import { makeCa } from '../helpers/certs.ts';
import { copiesOf, race, seededRandom, type RaceResult } from '../helpers/race.ts';
import { ALL_ROUNDS, inRounds, onEmulator, seedsFrom } from '../helpers/rounds.ts';

const key = 'sk-admin-emulator-test-key';
const UPLOAD = '/organization/certificates';
// Made once for the file.
const ca = makeCa({ cn: 'Raced CA' });
const filler = makeCa({ cn: 'Filler CA' });
const posts = (emu: Emulator): number => emu.requests.filter((r) => r.method === 'POST' && r.path === `/v1${UPLOAD}`).length;
const errorsOf = (run: ActionRun) => run.annotations.filter((a) => a.level === 'error');
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
    expect(r.log, why).not.toMatch(STACK_TRACE_LINE);
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
  it('20 seeded rounds of 20 racing runs, upload answers randomly lost, late, cut, 500 or 429: one copy, one certificate-id, at most one uploaded=true', async () => {
    const RUNS = 20;
    const rounds = await inRounds(seedsFrom(2101), 2, (seed) => {
      const random = seededRandom(seed * 104729);
      return onEmulator({ latency: { minMs: 0, maxMs: 50, seed }, faultSeed: seed }, async (emu) => {
        const upload = { method: 'POST', path: UPLOAD, times: Infinity };
        emu.addFault({ ...upload, kind: 'drop-after', probability: 0.2 }); // stored, answer lost
        emu.addFault({ ...upload, kind: 'cut', cut: random() < 0.5 ? 'empty' : 'truncated', probability: 0.15 }); // stored, answer unreadable
        emu.addFault({ ...upload, kind: 'late', delayMs: 400, probability: 0.2 }); // stored late, answered late
        emu.addFault({ ...upload, kind: 'status', status: 500, probability: 0.15 }); // refused, nothing stored
        emu.addFault({ ...upload, kind: 'status', status: 429, headers: { 'retry-after-ms': '200' }, probability: 0.15 });
        const result = await race(() => inputs(emu), {
          runs: RUNS,
          seed,
          spreadMs: 500,
          waves: random() < 0.5 ? 1 : 2,
          waveGapMs: 400,
          options: { timeoutMs: 120_000 },
        });
        await emu.settled();
        expectOneCopy(emu, result, { allSucceed: false });
        return {
          succeeded: result.runs.filter((r) => r.code === 0).length,
          failedAttempts: result.runs.filter((r) => /Attempt \d+ to upload the certificate failed/.test(r.log)).length,
          raced: posts(emu) >= 2,
        };
      });
    });
    // Nearly every run succeeded; over all rounds, the faults did fire (upload attempts failed and were
    // recovered from), and runs did race their uploads.
    const succeeded = rounds.reduce((n, r) => n + r.succeeded, 0);
    expect(succeeded).toBeGreaterThanOrEqual(Math.floor(rounds.length * RUNS * 0.9));
    if (ALL_ROUNDS) {
      expect(rounds.reduce((n, r) => n + r.failedAttempts, 0)).toBeGreaterThan(0);
      expect(rounds.filter((r) => r.raced).length).toBeGreaterThan(0);
    }
  });

  it('20 seeded rounds: duplicates an earlier run left (stored after the kept copy, inactive) are removed by the next run with reuse-existing on', async () => {
    await inRounds(seedsFrom(2201), 4, (seed) => {
      const random = seededRandom(seed);
      return onEmulator({ latency: { minMs: 0, maxMs: 30, seed } }, async (emu) => {
        const t = Math.floor(Date.now() / 1000) - 3600;
        const kept = emu.addCertificate(ca.pem, { name: 'corp-ca', createdAt: t, activeProjects: random() < 0.5 ? ['proj_alpha'] : [] });
        const extra = 1 + Math.floor(random() * 3);
        const orphans = Array.from({ length: extra }, (_, i) =>
          emu.addCertificate(ca.pem, { name: 'corp-ca', createdAt: t + 60 * (i + 1) }),
        );
        // The list may come in any order: the copy kept is the oldest by created_at, not the first listed.
        emu.listing.order = (['as-asked', 'desc', 'shuffled'] as const)[seed % 3];
        emu.listing.seed = seed;
        const runs = 1 + Math.floor(random() * 2);
        const result = await race(() => inputs(emu, { 'reuse-existing': 'true' }), { runs, seed, spreadMs: 200 });
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
      });
    });
  });

  it('20 seeded rounds of 10 runs with `order` ignored (newest first or shuffled): racing runs agree on one copy', async () => {
    await inRounds(seedsFrom(2301), 3, (seed) => {
      const random = seededRandom(seed * 31);
      return onEmulator(
        { latency: { minMs: 0, maxMs: 40, seed }, listing: { order: seed % 2 ? 'desc' : 'shuffled', seed } },
        async (emu) => {
          // Uploads held, so that the runs all plan before any copy is stored and each stores its own.
          emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 2000 + Math.floor(random() * 1000), times: Infinity });
          const result = await race(() => inputs(emu), { runs: 10, seed, spreadMs: 100, options: { timeoutMs: 120_000 } });
          await emu.settled();
          expectOneCopy(emu, result, { allSucceed: true });
          // A real race: several runs stored their own copy, and all but one were removed again.
          expect(posts(emu), result.describe()).toBeGreaterThanOrEqual(2);
          expect(
            result.runs.filter((r) => r.outputs['uploaded'] === 'true'),
            result.describe(),
          ).toHaveLength(1);
        },
      );
    });
  });

  it('20 seeded rounds of 20 runs of one CA with 45 certificates stored, refused at the cap with either limit code: all succeed with one copy', async () => {
    const refused = await inRounds(seedsFrom(2401), 3, (seed) =>
      onEmulator(
        {
          latency: { minMs: 0, maxMs: 40, seed },
          certificateLimit: seed % 2 ? {} : { code: 'too_many_certificates', status: 409 },
        },
        async (emu) => {
          for (let i = 0; i < 45; i++) emu.addCertificate(filler.pem, { name: `other-${i}` });
          // Uploads are stored 8 s late, so that the runs plan before the first copy is stored, and the cap is reached.
          emu.addFault({ kind: 'late', method: 'POST', path: UPLOAD, delayMs: 8000, times: Infinity });
          const result = await race(() => inputs(emu), { runs: 20, seed, spreadMs: 300, options: { timeoutMs: 120_000 } });
          await emu.settled();
          expectOneCopy(emu, result, { allSucceed: true });
          expect(emu.certificates, result.describe()).toHaveLength(46);
          return result.runs.filter((r) => /refused at the certificate limit/.test(r.log)).length;
        },
      ),
    );
    // The cap was reached: some runs were refused, and still succeeded with the copy a racing run stored.
    if (ALL_ROUNDS) expect(refused.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
