/**
 * Issue 20, over the compiled action, in 20 seeded rounds (test/helpers/rounds.ts), each on its own
 * emulator: rotations of two CAs of the same name overlap. An old CA is active
 * in a project and in the organization; 2 to 4 runs rotating to CA A and to CA B (B issued after A, both
 * after the old one, all named corp-ca, retire-previous on) start together or in waves, with seeded
 * emulator latency. Whatever the interleaving, every scope ends with an active CA valid now, B active, and
 * a state a sequential run could have left (B alone: A then B; A and B: B then A) — never none, never A
 * alone, never the old CA still active.
 */
import { describe, expect, it } from 'vitest';
import { leaks } from '../helpers/action.ts';
import { caGenerations, deactivated } from '../helpers/generations.ts';
import { copiesOf, race, scopeProblems, seededRandom } from '../helpers/race.ts';
import { ALL_ROUNDS, inRounds, onEmulator, seedsFrom } from '../helpers/rounds.ts';

const key = 'sk-admin-emulator-test-key';
// Made once for the file.
const [old, caA, caB] = await caGenerations();

describe('issue 20: overlapping rotations of two CAs of the same name', () => {
  it('20 seeded rounds of 2-4 runs (A and B), together or in waves: the newer CA active everywhere, never a scope without a valid CA', async () => {
    const shapes = await inRounds(seedsFrom(2001), 4, (seed) => {
      const random = seededRandom(seed * 7919);
      const runs = 2 + Math.floor(random() * 3);
      const waves = random() < 0.5 ? 1 : 2;
      // Which CA each run rotates to: both in every round, in a seeded order.
      const firstIsB = random() < 0.5;
      const caOf = (i: number) => ((i % 2 === 0) === firstIsB ? caB : caA);
      const waveGapMs = 250 + Math.floor(random() * 600);
      return onEmulator({ latency: { minMs: 0, maxMs: 80, seed } }, async (emu) => {
        const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
        const result = await race(
          (i) => ({
            'admin-api-key': key,
            certificate: caOf(i).pem,
            name: 'corp-ca',
            'base-url': emu.baseURL,
            'activate-organization': 'true',
            'activate-projects': 'proj_alpha',
            'retire-previous': 'true',
          }),
          { runs, seed, spreadMs: 300, waves, waveGapMs },
        );
        await emu.settled();
        const why = `${result.describe()}\nactive: org ${emu.activeIn('organization').join(',')}; proj_alpha ${emu.activeIn('proj_alpha').join(',')}`;
        for (const r of result.runs) {
          expect(r.error, why).toBeUndefined();
          expect(r.code, `${why}\n--- run ${r.index} ---\n${r.log}`).toBe(0);
          expect(r.log, why).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m); // no stack trace
          expect(leaks(r.run!, [key]), why).toEqual([]);
        }
        const want = { mustInclude: [caB.fingerprint], allowed: [[caB.fingerprint], [caA.fingerprint, caB.fingerprint]] };
        expect(scopeProblems(emu, { organization: want, proj_alpha: want }), why).toEqual([]);
        // One copy of each CA, and the newer one was never deactivated by anyone.
        const [b] = copiesOf(emu, caB.fingerprint);
        expect(copiesOf(emu, caB.fingerprint), why).toHaveLength(1);
        expect(copiesOf(emu, caA.fingerprint), why).toHaveLength(1);
        expect(deactivated(emu), why).not.toContain(b!.id);
        // The old CA was retired (it is older than both), and still stored: retire-previous deletes nothing.
        expect(
          emu.certificates.some((c) => c.id === previous.id),
          why,
        ).toBe(true);
        expect(deactivated(emu), why).toContain(previous.id);
        // Every run reports the certificate it rotated to, as kept, and active where it asked.
        for (const r of result.runs) {
          const mine = copiesOf(emu, caOf(r.index).fingerprint)[0]!;
          expect(r.outputs['certificate-id'], why).toBe(mine.id);
        }
        return waves;
      });
    });
    // Both shapes of overlap happened: runs started together, and in waves.
    if (ALL_ROUNDS) {
      expect(shapes).toContain(1);
      expect(shapes).toContain(2);
    }
  });
});
