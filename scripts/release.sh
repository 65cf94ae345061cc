#!/usr/bin/env bash
# Releases vX.Y.Z from main: sets package.json's version to X.Y.Z (committed as "Release vX.Y.Z" when that
# changes it), tags vX.Y.Z (annotated) and moves the major tag vX to the same commit.
#   scripts/release.sh X.Y.Z [--push]
# With --push it then pushes main, the tag, and vX (forced, since vX moves). The pushed tag starts
# .github/workflows/release.yml, which publishes the GitHub release with the changelog section as notes.
#
# It refuses, with exit 1, one line on stderr and nothing committed or tagged, unless: the work tree is
# clean; the branch is main and equals origin/main (fetched now); CHANGELOG.md has a dated, non-empty
# section [X.Y.Z]; vX.Y.Z exists neither here nor on origin; dist/ equals a fresh `npm run build`.
# Exit 2: bad arguments.
# RELEASE_BUILD_COMMAND, when set, is run (by bash) instead of `npm run --silent build`: the tests
# (test/repo/release.test.ts) use it to stand in for the full ncc build. Leave it unset to release.
set -euo pipefail

usage() {
  echo "usage: scripts/release.sh X.Y.Z [--push]${1:+ ($1)}" >&2
  exit 2
}
# The checks below stop here: one line that says what is wrong and what to do.
refuse() {
  echo "Not releasing $tag: $*" >&2
  exit 1
}

version="${1:-}"
push=false
case $# in
  1) ;;
  2) [ "$2" = "--push" ] || usage "unknown option $2"; push=true ;;
  *) usage ;;
esac
# X.Y.Z as semantic versioning has it: no "v", no leading zeros, no pre-release.
[[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || usage "\"$version\" is not a version X.Y.Z"
tag="v$version"
major="v${version%%.*}"
cd "$(dirname "$0")/.."

# What is released is what is committed: no local edits, no untracked files (the build would see them).
[ -z "$(git status --porcelain)" ] || refuse "the work tree is not clean: commit or stash the changes, then release again"
branch="$(git symbolic-ref --quiet --short HEAD || echo 'a detached HEAD')"
[ "$branch" = main ] || refuse "on $branch, not main: git switch main, then release again"

# The release notes come from this section (see scripts/changelog.mjs for what it requires).
if ! problem="$(node scripts/changelog.mjs "$version" 2>&1 >/dev/null)"; then
  refuse "${problem:-scripts/changelog.mjs failed}"
fi

# main must be exactly what origin has: a release must not carry commits nobody has pushed (and CI has not
# checked), nor leave out commits pushed since the last pull. --no-tags: the tags are checked just below,
# and fetching them could not update a moved vX anyway.
git fetch --quiet --no-tags origin || refuse "git fetch origin failed (see above): check the remote, then release again"
git rev-parse --quiet --verify refs/remotes/origin/main >/dev/null || refuse "origin has no branch main: push main first"
ahead="$(git rev-list --count origin/main..HEAD)"
behind="$(git rev-list --count HEAD..origin/main)"
if [ "$ahead" -gt 0 ] && [ "$behind" -gt 0 ]; then
  refuse "main and origin/main have diverged ($ahead and $behind commits of their own): git pull --rebase, push, then release again"
elif [ "$ahead" -gt 0 ]; then
  refuse "main has $ahead commit(s) not on origin/main: push them (git push origin main), let CI pass, then release again"
elif [ "$behind" -gt 0 ]; then
  refuse "origin/main has $behind commit(s) that main lacks: git pull --ff-only, then release again"
fi

# A release tag is never moved: the version must be new, here and on origin.
if git rev-parse --quiet --verify "refs/tags/$tag" >/dev/null; then
  refuse "$tag exists already here: release the next version (or delete a mistaken local tag: git tag -d $tag)"
fi
remote_tag="$(git ls-remote --tags origin "refs/tags/$tag")" || refuse "could not list origin's tags (see above): check the remote, then release again"
[ -z "$remote_tag" ] || refuse "$tag exists already on origin: release the next version (git fetch --tags shows it here)"

# The action runs dist/, not src/: the committed dist/ must be what the sources build to. The build's own
# output is shown only when it fails.
if ! build_log="$(bash -c "${RELEASE_BUILD_COMMAND:-npm run --silent build}" 2>&1)"; then
  printf '%s\n' "$build_log" >&2
  refuse "npm run build failed (output above): fix it, commit, push, then release again"
fi
if [ -n "$(git status --porcelain -- dist)" ]; then
  refuse "dist/ is stale: a fresh npm run build changed it (the new dist/ is in the work tree): commit it, push, then release again"
fi
[ -z "$(git status --porcelain)" ] || refuse "npm run build changed files outside dist/ (git status shows them): ignore or commit them, then release again"

# All checks passed: from here on, things change.
old_version="$(node -p "require('./package.json').version")"
# Sets "version" in package.json and package-lock.json; --no-git-tag-version: the commit and tags are ours.
npm version "$version" --no-git-tag-version --allow-same-version --offline --no-update-notifier >/dev/null
if [ -n "$(git status --porcelain)" ]; then
  git commit --quiet --all -m "Release $tag"
  echo "Committed \"Release $tag\" ($(git rev-parse --short HEAD)): package.json version $old_version -> $version"
else
  echo "package.json's version is $version already: no release commit"
fi
head="$(git rev-parse --short HEAD)"
previous_major="$(git rev-parse --quiet --verify "refs/tags/$major^{commit}" || true)"
git tag --annotate "$tag" -m "$tag"
git tag --force --annotate "$major" -m "$major: $tag" >/dev/null
if [ -n "$previous_major" ]; then
  echo "Tagged $tag on $head and moved $major to it from ${previous_major:0:7}"
else
  echo "Tagged $tag on $head and created $major there"
fi

if ! $push; then
  echo "Not pushed. To publish: git push origin main && git push origin $tag && git push --force origin $major"
  exit 0
fi
# main first, so that the tags never point at a commit origin does not have on main.
if ! git push --quiet origin main; then
  undo_major="git tag -d $major"
  [ -z "$previous_major" ] || undo_major="git tag -f $major ${previous_major:0:12}"
  echo "Pushing main failed (see above); $tag and $major are only local. To undo: git tag -d $tag && $undo_major && git reset --hard origin/main" >&2
  exit 1
fi
git push --quiet origin "refs/tags/$tag"
git push --quiet --force origin "refs/tags/$major"
echo "Pushed main, $tag and $major to origin: the release workflow publishes $tag"
