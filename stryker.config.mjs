// Mutation testing of the decision code (`npm run mutation`; `npm run mutation:incremental` reuses the
// results of the last run for code and tests that did not change). Not part of .ci/run, which every
// push runs: .github/workflows/mutation.yml runs it on pull requests that touch src/ and weekly, and
// fails under the goal (thresholds.break). The HTML report is reports/mutation/index.html.
//
// What counts: every mutant in the files of `mutate`, except the words of messages. Those are left out
// by the ignorer plugin stryker.message-ignorer.mjs (read its header): it ignores string and template
// literals that are the text of an error, a hint, a log line or a notice, and nothing else (only
// StringLiteral mutants; the conditions that choose words, and whether a message is emitted at all,
// still count). Strings that decide behaviour are never ignored: error codes (certificate_in_use),
// scope names (organization), header names (x-should-retry), input names, check names and statuses,
// annotation titles.
//
// EQUIVALENT below names mutants that cannot matter, with the reason: the behaviour does not change, so no
// test can see it. It was made for the code before the observe/decide/act rewrite (2026-12-02); entries for
// code that no longer exists were dropped, and the survivors of the rewritten rotation code are not
// classified yet: the last run (2026-12-02, before decide.ts and observe.ts were added to `mutate`) scored
// 80.65%, under the goal, with apply.ts (47%) and upload.ts (70%) covered mostly by the end-to-end tests,
// which no mutant reaches.

/** The equivalent mutants: where (file, the code mutated, the mutator), what it becomes, and why it cannot matter. */
export const EQUIVALENT = [
  {
    file: 'src/certificate/checks.ts',
    code: 'const checks: Check[] = []',
    mutant: 'ArrayDeclaration: [] => ["Stryker was here"]',
    why: 'runPreflight keeps the checks by name and reports only those of CHECK_NAMES: an element without a name is never seen.',
  },
  {
    file: 'src/certificate/checks.ts',
    code: 'const usage = cert.keyUsage ?? []',
    mutant: 'ArrayDeclaration: [] => ["Stryker was here"]',
    why: 'Without a Key Usage extension both usages are missing either way, and the message then does not list usages.',
  },
  {
    file: 'src/inputs/connection.ts',
    code: '/^127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$/',
    mutant: 'Regex: the ^ anchor removed',
    why: 'The URL parser reads a host whose last label is a number as an IPv4 address (and refuses it otherwise): a hostname never ends in 127.x.y.z without being exactly that.',
  },
  {
    file: 'src/inputs/read.ts',
    code: '.split(/[\\s,]+/)',
    mutant: 'Regex: /[\\s,]+/ => /[\\s,]/',
    why: 'The empty strings between consecutive separators are dropped by .filter(Boolean).',
  },
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'vitest',
  // The unit tests only: the end-to-end tests run the prebuilt dist/, which no mutant reaches.
  vitest: { configFile: 'vitest.mutation.config.mjs' },
  plugins: ['@stryker-mutator/vitest-runner', './stryker.message-ignorer.mjs'],
  ignorers: ['message-text'],
  mutate: [
    'src/rotation/decide.ts',
    'src/rotation/observe.ts',
    'src/rotation/apply.ts',
    'src/rotation/upload.ts',
    'src/rotation/retry.ts',
    'src/rotation/identical.ts',
    'src/rotation/writes.ts',
    'src/certificate/checks.ts',
    'src/inputs/*.ts',
    'src/status/coverage.ts',
    'src/status/settings.ts',
  ],
  // Each mutant runs only the tests that reach it, two test runners at a time (a 2-core machine, and
  // GitHub's runners have 4: more would only thrash).
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // The sandbox needs src/, test/, the configs and node_modules (linked), not the bundle or the reports.
  ignorePatterns: ['dist', 'bench', 'reports', 'coverage', '.github', '*.md'],
  thresholds: { high: 95, low: 90, break: 90 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  incrementalFile: 'reports/mutation/incremental.json',
  clearTextReporter: { allowEmojis: false, logTests: false, reportMutants: false },
  // Some tests wait on real timers (fake servers, retries with short back-offs): leave them room.
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
};

export default config;
