#!/usr/bin/env bash
# Tags a release: vX.Y.Z on HEAD, and moves the major tag vX to it.
#   scripts/release.sh 1.2.3 [--push]
# Refuses unless the tree is clean, HEAD is on main, dist/ equals a fresh build, and the tag is new.
set -euo pipefail
version="${1:-}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "usage: $0 X.Y.Z [--push]" >&2; exit 2; }
major="v${version%%.*}"
tag="v$version"
cd "$(dirname "$0")/.."

[ -z "$(git status --porcelain)" ] || { echo "the work tree is not clean" >&2; exit 1; }
[ "$(git rev-parse --abbrev-ref HEAD)" = "main" ] || { echo "release from main" >&2; exit 1; }
! git rev-parse -q --verify "refs/tags/$tag" >/dev/null || { echo "$tag exists already" >&2; exit 1; }
grep -q "## \[$version\]" CHANGELOG.md || { echo "CHANGELOG.md has no section [$version]" >&2; exit 1; }

npm run -s build >/dev/null
[ -z "$(git status --porcelain -- dist)" ] || { echo "dist/ is stale: commit a fresh build first" >&2; exit 1; }

git tag -a "$tag" -m "$tag"
git tag -fa "$major" -m "$major → $tag"
echo "tagged $tag and moved $major to $(git rev-parse --short HEAD)"
if [ "${2:-}" = "--push" ]; then
  git push origin "$tag"
  git push --force origin "$major"
fi
