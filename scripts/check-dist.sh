#!/usr/bin/env bash
# Checks that the committed dist/ is what the sources build to: run it right after `npm run build` (`npm test`
# builds first). Exit 1 with an error annotation, and the differing files on stderr, when the build changed
# dist/. The one dist-freshness check of CI: .ci/run and .github/workflows/ci.yml both call it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "$(git status --porcelain -- dist)" ]; then
  echo "::error title=dist::dist/ differs from a fresh 'npm run build': run it and commit dist/."
  git status --porcelain -- dist >&2
  exit 1
fi
echo "dist/ matches a fresh build."
