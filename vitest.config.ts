import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The seeded rounds (issue 21: 20 rounds of each race, fault and cancellation) take minutes, so they
    // have their own command, `npm run test:rounds` (vitest.rounds.config.ts), and `npm test` stays short.
    exclude: [...configDefaults.exclude, 'test/rounds/**'],
    // Generous limits, for a machine whose CPUs other jobs share: an end-to-end test runs the compiled
    // action several times, each up to a minute (test/helpers/action.ts), and on a busy 2-CPU machine a
    // test that takes seconds when idle can take ten times as long. A test that hangs still fails.
    testTimeout: 180_000,
    // Hooks start emulators and make certificates; none runs a build (the release tests stand one in).
    hookTimeout: 120_000,
    // Four files at once on a 2-CPU machine: end-to-end files spend most of their time waiting (on the
    // emulator's held answers, on the action's wait for the API's clock), so two more workers fill that
    // time; measured with two CPU hogs beside it, npm test took 128 s with 2 workers and 114 s with 4.
    maxWorkers: 4,
  },
});
