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
// Every surviving mutant is either killed by a test or named in EQUIVALENT below with the reason it cannot
// matter: the behaviour does not change, so no test can see it. They are left in the run (they count as
// survivors against the score) rather than disabled with `// Stryker disable` comments in src/.

/** The equivalent mutants: where (file, the code mutated, the mutator), what it becomes, and why it cannot matter. */
export const EQUIVALENT = [
  {
    file: 'src/rotation/plan.ts',
    code: 'projectLists[i] ?? []',
    mutant: 'ArrayDeclaration: [] => ["Stryker was here"] (no coverage)',
    why: 'mapLimit returns one list per project, so the fallback (there for noUncheckedIndexedAccess) is never used.',
  },
  {
    file: 'src/rotation/plan.ts',
    code: 'c.expiresAt !== undefined && c.expiresAt <= nowSeconds',
    mutant: 'ConditionalExpression: c.expiresAt !== undefined => true',
    why: '`undefined <= n` is false in JavaScript: the guard narrows the type for TypeScript; a certificate without an expiry is never deletable either way (test/e2e/cleanup.test.ts pins that rule).',
  },
  {
    file: 'src/rotation/upload.ts',
    code: "check.title ?? 'api'",
    mutant: 'LogicalOperator: ?? => &&, and StringLiteral: \'api\' => "" (no coverage)',
    why: "explainApiError gives every error it makes the title 'api', so the fallback is never used and `&&` gives 'api' too.",
  },
  {
    file: 'src/rotation/upload.ts',
    code: 'a.c.createdAt - b.c.createdAt || a.i - b.i',
    mutant: 'ArithmeticOperator: a.i - b.i => a.i + b.i',
    why: 'Array.prototype.sort is stable (ES2019): certificates created in the same second keep the list order with either tie-break (3,000 random lists of up to 300 entries sort identically).',
  },
  {
    file: 'src/rotation/writes.ts',
    code: "error.param ?? ''",
    mutant: 'StringLiteral: "" => "Stryker was here!" (no coverage)',
    why: 'Only /project/ is tested against it, and neither string contains "project".',
  },
  {
    file: 'src/rotation/writes.ts',
    code: "settle: (failure) => (certificateNotFound(failure) ? 'gone' : undefined)",
    mutant: 'StringLiteral: \'gone\' => ""',
    why: "deactivate only compares the value with 'done': any other value means gone.",
  },
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
    file: 'src/certificate/checks.ts',
    code: 'size < MAX_PEM_BYTES',
    mutant: 'EqualityOperator: < => <=',
    why: 'The PEM (toPem: base64 in lines of 64) is never exactly 16,384 bytes: its size goes from 16,382 to 16,386 bytes.',
  },
  {
    file: 'src/inputs/connection.ts',
    code: String.raw`/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/`,
    mutant: 'Regex: the ^ anchor removed',
    why: 'The URL parser reads a host whose last label is a number as an IPv4 address (and refuses it otherwise): a hostname never ends in 127.x.y.z without being exactly that.',
  },
  {
    file: 'src/inputs/read.ts',
    code: String.raw`.split(/[\s,]+/)`,
    mutant: String.raw`Regex: /[\s,]+/ => /[\s,]/`,
    why: 'The empty strings between consecutive separators are dropped by .filter(Boolean).',
  },
  {
    file: 'src/rotation/retry.ts',
    code: "headers.get('retry-after-ms')?.trim() and headers.get('retry-after')?.trim()",
    mutant: 'MethodExpression: .trim() removed (two mutants)',
    why: "The SDK's errors carry a Fetch Headers object, whose get() already strips leading and trailing white space.",
  },
  {
    file: 'src/rotation/retry.ts',
    code: 'if (!value) return undefined;',
    mutant: 'ConditionalExpression: !value => false',
    why: 'An empty or missing Retry-After then fails both the number and the day-name patterns, and undefined is returned anyway.',
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
    'src/rotation/plan.ts',
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
