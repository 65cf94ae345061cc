// The bundle GitHub runs: dist/index.js (ES module) plus chunks that are loaded only when needed
// (the pull-request comment's Octokit, undici for a proxy).
//
// Rolldown rather than ncc: it hoists modules into one scope instead of wrapping each in a function,
// and drops what nothing uses. Measured with `npm run bench` (see the README's Performance section).
import { defineConfig } from 'rolldown';

// Packages that @actions/core imports only for features this action does not use (OIDC tokens, runner
// platform details). Marked free of side effects so that importing @actions/core does not load them
// (a copy of undici among them); the comment chunk still gets them, through @actions/github, when used.
const unusedThroughCore = /[\\/]node_modules[\\/](@actions[\\/](http-client|exec|io)|tunnel|undici)[\\/]/;

export default defineConfig({
  input: 'src/index.ts',
  platform: 'node',
  tsconfig: 'tsconfig.json',
  treeshake: { moduleSideEffects: (id) => !unusedThroughCore.test(id) },
  plugins: [
    {
      // So that dist/ is read as ES modules even when copied away from this package.json.
      name: 'dist-package-json',
      generateBundle() {
        this.emitFile({ type: 'asset', fileName: 'package.json', source: '{ "type": "module" }\n' });
      },
    },
  ],
  output: {
    dir: 'dist',
    format: 'esm',
    entryFileNames: 'index.js',
    chunkFileNames: '[name]-[hash].js',
    cleanDir: true,
  },
});
