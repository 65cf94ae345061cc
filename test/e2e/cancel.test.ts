/**
 * Issue 21, over the compiled action: GitHub cancels a step with SIGINT, then SIGTERM. A run parked (by an
 * emulator `hold`) in each phase — reading, uploading, activating, retiring, deleting — and signalled there
 * writes its job summary and outputs and exits non-zero within 2 s, names the write in flight, and a re-run
 * converges: one copy, active, the old CA retired, the expired one deleted.
 */
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type RecordedRequest } from '../emulator/emulator.ts';
import { actionYml, leaks, runAction } from '../helpers/action.ts';
import { makeDatedCa } from '../helpers/certs.ts';
import { copiesOf, startAction, waitFor } from '../helpers/race.ts';
import { closeAfterEach } from '../helpers/servers.ts';

const key = 'sk-admin-emulator-test-key';
const DAY = 86_400_000;
const HOLD_MS = 3000;
const track = closeAfterEach();
const now = Date.now();
// Made once for the file.
const [old, fresh, expired] = await Promise.all([
  makeDatedCa(new Date(now - 300 * DAY), new Date(now + 200 * DAY), 'Corp CA gen 1'),
  makeDatedCa(new Date(now - DAY), new Date(now + 500 * DAY), 'Corp CA gen 2'),
  makeDatedCa(new Date(now - 400 * DAY), new Date(now - 100 * DAY), 'Expired CA'),
]);

interface Phase {
  name: string;
  /** The request the run is parked in. */
  method: string;
  path: RegExp;
  /** What the cancellation message names as in flight. */
  inFlight: RegExp;
}

const PHASES: Phase[] = [
  { name: 'reading', method: 'GET', path: /^\/v1\/organization\/certificates$/, inFlight: /No write was in flight\./ },
  {
    name: 'uploading',
    method: 'POST',
    path: /^\/v1\/organization\/certificates$/,
    inFlight:
      /In flight: upload the certificate\. An upload was in flight: it may be stored; the next run finds it and removes any duplicate\./,
  },
  {
    name: 'activating',
    method: 'POST',
    path: /^\/v1\/organization\/projects\/proj_alpha\/certificates\/activate$/,
    inFlight: /In flight: activate cert_\w+ for project proj_alpha\. It may or may not have taken effect/,
  },
  {
    name: 'retiring',
    method: 'POST',
    path: /^\/v1\/organization\/projects\/proj_alpha\/certificates\/deactivate$/,
    inFlight: /In flight: deactivate cert_\w+ for project proj_alpha\. It may or may not have taken effect/,
  },
  {
    name: 'deleting',
    method: 'DELETE',
    path: /^\/v1\/organization\/certificates\/cert_\w+$/,
    inFlight: /In flight: delete cert_\w+\. It may or may not have taken effect/,
  },
];

function setUp(emu: Emulator): { previous: string; stale: string } {
  const previous = emu.addCertificate(old.pem, { name: 'corp-ca', activeProjects: ['proj_alpha'] }).id;
  const stale = emu.addCertificate(expired.pem, { name: 'stale', skipValidation: true }).id;
  return { previous, stale };
}

const inputs = (emu: Emulator): Record<string, string> => ({
  'admin-api-key': key,
  certificate: fresh.pem,
  name: 'corp-ca',
  'base-url': emu.baseURL,
  'activate-projects': 'proj_alpha',
  'retire-previous': 'true',
  'delete-expired': 'true',
});

const matches =
  (phase: Phase) =>
  (r: RecordedRequest): boolean =>
    r.method === phase.method && phase.path.test(r.path);

describe('issue 21: a cancelled run still reports', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const phase of PHASES) {
      it(`${signal} while ${phase.name}: summary, outputs and a non-zero exit within 2 s, naming what was in flight; a re-run converges`, async () => {
        const emu = track(await startEmulator());
        const { previous, stale } = setUp(emu);
        emu.addFault({ kind: 'hold', delayMs: HOLD_MS, method: phase.method, path: phase.path });
        const started = startAction(inputs(emu));
        await waitFor(() => emu.requests.some(matches(phase)), `the run to send its ${phase.name} request`);
        started.signal(signal);
        const run = await started.done;
        const why = `${run.stdout}\n${run.stderr}`;
        expect(run.signalledMs, why).toBeLessThan(2000);
        expect(run.code, why).not.toBe(0);
        expect(run.code, why).not.toBeNull();
        const error = run.annotations.find((a) => a.level === 'error' && a.title === 'cancelled');
        expect(error?.message, why).toMatch(new RegExp(`^The run was cancelled \\(${signal}\\)\\.`));
        expect(error?.message, why).toMatch(phase.inFlight);
        // Every output is set (some empty), and the summary says the run was cancelled.
        expect(Object.keys(run.outputs).sort(), why).toEqual(Object.keys(actionYml.outputs).sort());
        expect(run.summary, why).toMatch(/cancelled/);
        expect(run.summary, why).toMatch(phase.name === 'reading' ? /No write was in flight/ : /In flight/);
        expect(run.everything).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
        expect(leaks(run, [key])).toEqual([]);

        // The held request is handled once its hold ends (the API may apply a write the client gave up on).
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS + 300));
        const again = await runAction(inputs(emu));
        expect(again.code, again.stdout).toBe(0);
        const copies = copiesOf(emu, fresh.fingerprint);
        expect(copies).toHaveLength(1);
        expect(emu.activeIn('proj_alpha')).toEqual([copies[0]!.id]);
        expect(again.outputs['certificate-id']).toBe(copies[0]!.id);
        expect(emu.certificates.map((c) => c.id)).toContain(previous); // retired, not deleted
        expect(emu.certificates.map((c) => c.id)).not.toContain(stale);
      }, 90_000);
    }
  }
});
