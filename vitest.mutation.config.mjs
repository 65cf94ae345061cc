// The unit tests, for StrykerJS (stryker.config.mjs): the tests that can see a mutant. The end-to-end
// tests (test/e2e/, and the seeded rounds in test/rounds/) run the prebuilt dist/ and refuse a stale one,
// the repository tests (test/repo/) check files, builds and workflows, and the emulator's own tests
// (test/emulator/) import nothing from src/: none of them can kill a mutant, so they are left out here
// (they still run in `npm test`, and the rounds in `npm run test:rounds`).
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ['test/e2e/**', 'test/rounds/**', 'test/repo/**', 'test/emulator/**', 'node_modules/**'],
    },
  }),
);
