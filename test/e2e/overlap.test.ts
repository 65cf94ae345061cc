/**
 * Issue 20, over the compiled action: a re-run of an old workflow rotates to an older CA of the same name
 * after the newer one is in place. (The seeded rounds of overlapping rotations are in
 * test/rounds/overlap.test.ts, run by `npm run test:rounds`.)
 */
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../emulator/emulator.ts';
import { caGenerations, deactivated } from '../helpers/generations.ts';
import { copiesOf, race } from '../helpers/race.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const track = closeAfterEach();
// Made once for the file.
const [old, caA, caB] = await caGenerations();

describe('issue 20: overlapping rotations of two CAs of the same name', () => {
  it('a re-run of an old workflow with the older CA after the newer one is in place: both active, the newer never retired', async () => {
    const emu = track(await startEmulator());
    emu.addCertificate(old.pem, { name: 'corp-ca' });
    const b = emu.addCertificate(caB.pem, { name: 'corp-ca', activeOrg: true, activeProjects: ['proj_alpha'] });
    const result = await race(
      () => ({
        'admin-api-key': key,
        certificate: caA.pem,
        name: 'corp-ca',
        'base-url': emu.baseURL,
        'activate-organization': 'true',
        'activate-projects': 'proj_alpha',
        'retire-previous': 'true',
      }),
      { runs: 2, seed: 7 },
    );
    for (const r of result.runs) expect(r.code, r.log).toBe(0);
    const a = copiesOf(emu, caA.fingerprint);
    expect(a).toHaveLength(1);
    expect(emu.activeIn('organization').sort()).toEqual([a[0]!.id, b.id].sort());
    expect(emu.activeIn('proj_alpha').sort()).toEqual([a[0]!.id, b.id].sort());
    expect(deactivated(emu)).toEqual([]);
    for (const r of result.runs) expect(r.outputs.retired).toBe('');
    // Each run says why the newer CA stays.
    for (const r of result.runs)
      expect(r.run!.annotations.some((n) => n.level === 'notice' && n.message.includes(b.id) && /newer/.test(n.message))).toBe(true);
  }, 120_000);
});
