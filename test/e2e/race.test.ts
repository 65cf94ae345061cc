/**
 * The seeded race harness (test/helpers/race.ts): its plan and state helpers. Its demonstration over the
 * compiled action, in seeded rounds, is test/rounds/race.test.ts (`npm run test:rounds`).
 */
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.ts';
import { makeCa } from '../helpers/certs.ts';
import { copiesOf, copyCounts, normalizeFingerprint, scopeProblems, startOffsets, stateOf } from '../helpers/race.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const track = closeAfterEach();
const emulator = async (options: EmulatorOptions = {}): Promise<Emulator> => track(await startEmulator(options));
const ca = makeCa({ cn: 'Raced CA' });
const other = makeCa({ cn: 'Other CA' });

describe('race harness: plans and state', () => {
  it('start offsets are a function of the seed; waves start waveGapMs apart', () => {
    const plan = { runs: 6, seed: 42, spreadMs: 300, waves: 3, waveGapMs: 1000 };
    const a = startOffsets(plan);
    expect(startOffsets({ ...plan })).toEqual(a);
    expect(startOffsets({ ...plan, seed: 43 })).not.toEqual(a);
    expect(a.map((s) => s.wave)).toEqual([0, 1, 2, 0, 1, 2]);
    for (const s of a) expect(s.offsetMs - s.wave * 1000).toBeGreaterThanOrEqual(0);
    for (const s of a) expect(s.offsetMs - s.wave * 1000).toBeLessThanOrEqual(300);
    expect(startOffsets({ runs: 3, seed: 1 }).map((s) => s.offsetMs)).toEqual([0, 0, 0]); // default: all at once
  });

  it('reads copies and active certificates per scope from the emulator', async () => {
    const emu = await emulator();
    const a1 = emu.addCertificate(ca.pem, { activeProjects: ['proj_alpha'] });
    const a2 = emu.addCertificate(ca.pem);
    const b = emu.addCertificate(other.pem, { activeOrg: true, activeProjects: ['proj_alpha'] });
    expect(copiesOf(emu, ca.fingerprint).map((c) => c.id)).toEqual([a1.id, a2.id]); // openssl's spelling matches Node's
    expect(copyCounts(emu)).toEqual({ [normalizeFingerprint(ca.fingerprint)]: 2, [normalizeFingerprint(other.fingerprint)]: 1 });
    const state = stateOf(emu, ['organization', 'proj_alpha', 'proj_beta']);
    expect(state['organization']).toEqual({ active: [b.id], fingerprints: [normalizeFingerprint(other.fingerprint)], validNow: 1 });
    expect(state['proj_alpha']?.active).toEqual([a1.id, b.id]);
    expect(state['proj_beta']).toEqual({ active: [], fingerprints: [], validNow: 0 });
  });

  it('names what is wrong with a scope: nothing valid active, a must-have missing, a set not allowed', async () => {
    const emu = await emulator();
    const a = emu.addCertificate(ca.pem, { activeProjects: ['proj_alpha', 'proj_beta'] });
    emu.addCertificate(other.pem, { activeProjects: ['proj_beta'] });
    const newer = other.fingerprint;
    const want = { mustInclude: [newer], allowed: [[newer], [ca.fingerprint, newer]] };
    expect(scopeProblems(emu, { proj_beta: want })).toEqual([]);
    expect(scopeProblems(emu, { proj_alpha: want })).toEqual([
      expect.stringMatching(/^proj_alpha: [0-9A-F]{12} is not active \(active: [0-9A-F]{12}\)$/),
      expect.stringMatching(/^proj_alpha: active set .* is none of the allowed ones$/),
    ]);
    expect(scopeProblems(emu, { proj_gamma: {} })).toEqual(['proj_gamma: no active certificate valid now (active: nothing)']);
    a.expires_at = Math.floor(Date.now() / 1000) - 1; // by its (stored) dates, no longer valid
    expect(scopeProblems(emu, { proj_alpha: {} })).toEqual([expect.stringMatching(/^proj_alpha: no active certificate valid now/)]);
    expect(scopeProblems(emu, { proj_alpha: { validNow: false } })).toEqual([]);
  });
});
