/** Fixtures of the overlapping-rotation tests (issue 20): generations of one CA name, and what was deactivated. */
import type { Emulator } from '../emulator/emulator.ts';
import { makeDatedCa } from './certs.ts';

const DAY = 86_400_000;

/** Three generations of one CA name, each issued ten days after the previous one (oldest first). */
export function caGenerations(now = Date.now()) {
  return Promise.all([
    makeDatedCa(new Date(now - 30 * DAY), new Date(now + 300 * DAY), 'Corp CA gen 1'),
    makeDatedCa(new Date(now - 20 * DAY), new Date(now + 400 * DAY), 'Corp CA gen 2'),
    makeDatedCa(new Date(now - 10 * DAY), new Date(now + 500 * DAY), 'Corp CA gen 3'),
  ]);
}

/** The ids a run asked to deactivate, over every deactivate call the emulator received. */
export function deactivated(emu: Emulator): string[] {
  return emu.requests
    .filter((r) => r.method === 'POST' && r.path.endsWith('/deactivate'))
    .flatMap((r) => ((r.body as { certificate_ids?: string[] } | null)?.certificate_ids ?? []).map(String));
}
