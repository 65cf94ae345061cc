/**
 * The seeded race harness (test/helpers/race.ts) over the compiled action, in 20 seeded rounds
 * (test/helpers/rounds.ts), each on its own emulator: runs of one CA racing into one project, in two waves
 * with seeded start offsets and seeded emulator latency, end on one copy, active there, the same
 * certificate-id everywhere and one uploader.
 */
import { describe, expect, it } from 'vitest';
import { leaks } from '../helpers/action.ts';
import { makeCa } from '../helpers/certs.ts';
import { copiesOf, normalizeFingerprint, race, scopeProblems, stateOf } from '../helpers/race.ts';
import { inRounds, onEmulator, seedsFrom } from '../helpers/rounds.ts';

const key = 'sk-admin-emulator-test-key';
// Made once for the file.
const ca = makeCa({ cn: 'Raced CA' });

describe('race harness over the compiled action', () => {
  it('20 seeded rounds of 5 runs of one CA into one project in two waves: one copy, active, one uploader', async () => {
    await inRounds(seedsFrom(101), 4, (seed) =>
      onEmulator({ latency: { minMs: 0, maxMs: 60, seed } }, async (emu) => {
        const result = await race(
          () => ({
            'admin-api-key': key,
            certificate: ca.pem,
            name: 'corp-ca',
            'base-url': emu.baseURL,
            'activate-projects': 'proj_alpha',
          }),
          { runs: 5, seed, spreadMs: 400, waves: 2, waveGapMs: 700 },
        );
        const why = result.describe();
        // They did race: runs of the same wave overlapped in time.
        const overlapping = result.runs.filter((r) =>
          result.runs.some((q) => q !== r && q.startedMs < r.endedMs && r.startedMs < q.endedMs),
        );
        expect(overlapping.length, why).toBeGreaterThanOrEqual(2);
        for (const r of result.runs) {
          expect(r.error, why).toBeUndefined();
          expect(r.code, `${why}\n${r.log}`).toBe(0);
          expect(leaks(r.run!, [key]), why).toEqual([]);
        }
        const copies = copiesOf(emu, ca.fingerprint);
        expect(copies, why).toHaveLength(1);
        const kept = copies[0]!.id;
        expect(scopeProblems(emu, { proj_alpha: { mustInclude: [ca.fingerprint], allowed: [[ca.fingerprint]] } }), why).toEqual([]);
        expect(stateOf(emu, ['proj_alpha', 'organization']), why).toEqual({
          proj_alpha: { active: [kept], fingerprints: [normalizeFingerprint(ca.fingerprint)], validNow: 1 },
          organization: { active: [], fingerprints: [], validNow: 0 },
        });
        expect(
          result.runs.map((r) => r.outputs['certificate-id']),
          why,
        ).toEqual(Array(5).fill(kept));
        expect(
          result.runs.filter((r) => r.outputs['uploaded'] === 'true'),
          why,
        ).toHaveLength(1);
        // The emulator's seeded latency held every request.
        expect(
          emu.requests.every((q) => q.heldMs !== undefined),
          why,
        ).toBe(true);
      }),
    );
  });
});
