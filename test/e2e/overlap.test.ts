/**
 * Issue 20, over the compiled action: a re-run of an old workflow rotates to an older CA of the same name
 * after the newer one is in place. (The seeded rounds of overlapping rotations are in
 * test/rounds/overlap.test.ts, run by `npm run test:rounds`.)
 */
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/emulator.ts';
import { makeDatedCa } from '../helpers/certs.ts';
import { copiesOf, race } from '../helpers/race.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
const track = closeAfterEach();
const now = Date.now();
// Made once for the file: three generations of one CA name, each issued ten days after the previous one.
const [old, caA, caB] = await Promise.all([
  makeDatedCa(new Date(now - 30 * DAY), new Date(now + 300 * DAY), 'Corp CA gen 1'),
  makeDatedCa(new Date(now - 20 * DAY), new Date(now + 400 * DAY), 'Corp CA gen 2'),
  makeDatedCa(new Date(now - 10 * DAY), new Date(now + 500 * DAY), 'Corp CA gen 3'),
]);

/** The ids a run asked to deactivate, over every deactivate call the emulator received. */
function deactivated(emu: Emulator): string[] {
  return emu.requests
    .filter((r) => r.method === 'POST' && r.path.endsWith('/deactivate'))
    .flatMap((r) => ((r.body as { certificate_ids?: string[] } | null)?.certificate_ids ?? []).map(String));
}

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
