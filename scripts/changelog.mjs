// The notes of one release, from CHANGELOG.md: the body of its "## [X.Y.Z] - YYYY-MM-DD" section, without
// the heading, up to the next "## " heading, trimmed.
//   node scripts/changelog.mjs X.Y.Z [changelog file, CHANGELOG.md by default]
// Prints the body; exits 1 with a one-line message when the section is missing, undated or empty, 2 on a bad
// argument. scripts/release.sh checks the changelog with it before tagging, and .github/workflows/release.yml
// writes the GitHub release's notes with it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** What is wrong with a changelog: the message is meant for the person releasing. */
export class ChangelogError extends Error {}

/**
 * The body of the section `## [version]` of a Keep a Changelog text, trimmed. Throws a ChangelogError when
 * there is no such section, more than one, one without a date, or one with nothing but blank lines and
 * sub-headings. `## ` lines inside fenced code blocks are not headings, and the link definitions of versions
 * that usually end the file (`[1.0.0]: https://...`) are not part of the last section's notes.
 */
export function changelogSection(text, version, name = 'CHANGELOG.md') {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const escaped = version.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // "## [1.2.0] - 2026-12-01", also with a link: "## [1.2.0](https://...) - 2026-12-01".
  const heading = new RegExp(`^## \\[${escaped}\\](\\([^)]*\\))?(\\s|$)`);

  const headings = []; // indices of the "## " lines outside code blocks
  let fence = null;
  lines.forEach((line, i) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
    } else if (marker) {
      fence = marker;
    } else if (line.startsWith('## ')) {
      headings.push(i);
    }
  });

  const found = headings.filter((i) => heading.test(lines[i]));
  const want = `'## [${version}] - YYYY-MM-DD'`;
  if (found.length === 0) throw new ChangelogError(`${name} has no section [${version}]: add one headed ${want} listing the changes`);
  if (found.length > 1) throw new ChangelogError(`${name} has ${found.length} sections [${version}]: merge them into one`);
  const start = found[0];
  if (!/ - \d{4}-\d{2}-\d{2}\b/.test(lines[start])) throw new ChangelogError(`${name}'s section [${version}] has no date: head it ${want}`);

  const end = headings.find((i) => i > start) ?? lines.length;
  const body = lines.slice(start + 1, end);
  if (end === lines.length) {
    // The last section runs to the end of the file, where the version links usually are.
    const versionLink = /^\[(unreleased|v?\d+\.\d+\.\d+[^\]]*)\]:\s*\S/i;
    while (body.length && (body.at(-1).trim() === '' || versionLink.test(body.at(-1)))) body.pop();
  }
  if (!body.some((line) => line.trim() !== '' && !/^#{1,6}(\s|$)/.test(line)))
    throw new ChangelogError(`${name}'s section [${version}] is empty: list the release's changes under it`);
  return body.join('\n').trim();
}

function main(args) {
  const [version, file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'CHANGELOG.md')] = args;
  if (args.length > 2 || !VERSION.test(version ?? '')) {
    console.error('usage: node scripts/changelog.mjs X.Y.Z [CHANGELOG.md]');
    return 2;
  }
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    console.error(`cannot read ${file}: ${error.message}`);
    return 1;
  }
  try {
    process.stdout.write(`${changelogSection(text, version, path.basename(file))}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ChangelogError)) throw error;
    console.error(error.message);
    return 1;
  }
}

// Run as a script (not imported by a test): exitCode rather than exit(), so that a piped stdout is flushed.
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = main(process.argv.slice(2));
}
