// The seeded rounds (`npm run test:rounds`, in CI right after `npm test`): end-to-end tests over the
// compiled action that run each race, fault and cancellation in 20 seeded rounds (test/helpers/rounds.ts),
// too long for `npm test`, which leaves test/rounds/ out (vitest.config.ts). They run the dist/ that
// `npm test` has just built, and refuse a stale one.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/rounds/**/*.test.ts'],
    // A test runs 20 rounds, a few at a time, of up to 20 runs each: minutes on a busy 2-CPU machine, and
    // several times that when other jobs share it. A round that hangs still fails (each run has its own limit).
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    // One file at a time: each runs its rounds a few at a time already (test/helpers/rounds.ts), enough to
    // keep both cores busy while runs wait on held and late answers. Two files at once (say 40 racing runs
    // beside the cancellations) starve a signalled run of the CPU it needs to write its summary within
    // the README's 2 s, and gain little: the suite is mostly bound by CPU (about 12 CPU-minutes).
    maxWorkers: 1,
  },
});
