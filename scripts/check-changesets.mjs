// Checks that changes to published package files carry a changeset (CONTRIBUTING "Changesets" has the rule).
//   node scripts/check-changesets.mjs            (CI runs it; exits 1 and lists the offenders)
//
// Package files: packages/<name>/src/** (tests excepted), packages/<name>/assembly/**, packages/<name>/package.json.
// A changeset: an added or modified .changeset/*.md other than README.md (an empty one, from
// `pnpm changeset --empty`, says "no release needed" for an internal change).
//
// What is checked depends on what git can see:
//   - HEED_CHANGESET_BASE=<commit>: the range <commit>..HEAD as a whole.
//   - a branch (HEAD not on main / origin/main): the branch since its merge base, as a whole.
//   - HEAD on main (CI's clean clone): everything since the last release tag (or, without one, since the
//     commit before the one that added this script), as one release.
// In each case every package whose files changed must be named by a changeset added or edited in the range
// (an empty changeset covers all).
// Also checks that every changeset names only published packages with a valid bump.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const tryGit = (...args) => {
  try {
    return git(...args);
  } catch {
    return null;
  }
};
const lines = (text) => (text ? text.split('\n').filter(Boolean) : []);

const PACKAGE_FILE = /^packages\/[^/]+\/(src\/(?!.*\.test\.ts$).+|assembly\/.+|package\.json)$/;
const CHANGESET = /^\.changeset\/(?!README\.md$)[^/]+\.md$/;

/** Files changed between two commits (`from` null: the root commit's own files). */
function changedFiles(from, to) {
  return from ? lines(git('diff', '--name-only', '--no-renames', from, to)) : lines(git('show', '--name-only', '--format=', to));
}

function checkRange(label, from, to) {
  const files = changedFiles(from, to);
  const touched = files.filter((f) => PACKAGE_FILE.test(f));
  if (touched.length === 0) return null;
  const changesets = files.filter((f) => CHANGESET.test(f) && existsSync(join(root, f)));
  // Each package changed must be named by one of the changesets (an empty changeset covers every package).
  const named = new Set();
  const empty = changesets.length === 0 ? false : changesets.some((f) => changesetEntries(f).length === 0);
  for (const f of changesets) for (const [name] of changesetEntries(f)) named.add(name);
  const missing = [...new Set(touched.map((f) => f.split('/')[1]))].filter((dir) => !empty && !named.has(packageName(dir)));
  if (missing.length === 0) return null;
  const files_ = touched.filter((f) => missing.includes(f.split('/')[1]));
  return `${label} changes ${missing.map(packageName).join(', ')} without a changeset naming ${missing.length > 1 ? 'them' : 'it'}:\n${files_
    .slice(0, 12)
    .map((f) => `      ${f}`)
    .join('\n')}${files_.length > 12 ? `\n      … and ${files_.length - 12} more` : ''}`;
}

/** The [package, bump] entries of a changeset's front matter ([] for an empty changeset). */
function changesetEntries(file) {
  const front = /^---\r?\n([\s\S]*?)\r?\n?---/.exec(readFileSync(join(root, file), 'utf8'));
  if (!front) return [];
  return lines(front[1])
    .map((line) => /^\s*["']?(@[^"':]+\/[^"':]+)["']?\s*:\s*(patch|minor|major)\s*$/.exec(line))
    .filter(Boolean)
    .map((m) => [m[1], m[2]]);
}

/** The package name of packages/<dir> (the directory name when its manifest cannot be read). */
function packageName(dir) {
  try {
    return JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')).name;
  } catch {
    return dir;
  }
}

function mainRef() {
  for (const ref of ['origin/main', 'main']) if (tryGit('rev-parse', '--verify', '--quiet', `${ref}^{commit}`)) return ref;
  return null;
}

const problems = [];
const head = git('rev-parse', 'HEAD');
const base = process.env.HEED_CHANGESET_BASE;
const main = mainRef();
const onMain = main !== null && tryGit('merge-base', '--is-ancestor', head, main) !== null;

if (base) {
  console.log(`changesets: checking ${base}..HEAD as one change (HEED_CHANGESET_BASE)`);
  const problem = checkRange(`${base}..HEAD`, git('rev-parse', base), head);
  if (problem) problems.push(problem);
} else if (main && !onMain) {
  const mergeBase = git('merge-base', head, main);
  console.log(`changesets: checking this branch since its merge base with ${main} (${mergeBase.slice(0, 9)}) as one change`);
  const problem = checkRange(`the branch (${mergeBase.slice(0, 9)}..HEAD)`, mergeBase, head);
  if (problem) problems.push(problem);
} else {
  // On main, every change since the last release tag (or, without one, since the parent of the commit that
  // added this check) is one release: each package it changes must be named by a changeset added in it.
  // (Per package, not per commit: work merged in steps may bring its changeset in a later merge.)
  const tag = tryGit('describe', '--tags', '--abbrev=0', '--match', '@heed/*', '--match', 'v[0-9]*', 'HEAD');
  const introduced = lines(tryGit('log', '--diff-filter=A', '--format=%H', 'HEAD', '--', 'scripts/check-changesets.mjs')).pop() ?? head;
  const from = tag ?? tryGit('rev-parse', '--verify', '--quiet', `${introduced}^1`);
  console.log(
    `changesets: checking main since ${tag ? `the release tag ${tag}` : `the commit before this check (${(from ?? 'the root').slice(0, 9)})`} as one release`,
  );
  const problem = checkRange(`main since ${tag ?? (from ?? 'the root').slice(0, 9)}`, from, head);
  if (problem) problems.push(problem);
}

// Every changeset present names published packages with a valid bump.
const published = new Map();
for (const dir of readdirSync(join(root, 'packages'))) {
  const manifest = join(root, 'packages', dir, 'package.json');
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (!pkg.private) published.set(pkg.name, dir);
}
for (const file of readdirSync(join(root, '.changeset')).filter((f) => CHANGESET.test(`.changeset/${f}`))) {
  const text = readFileSync(join(root, '.changeset', file), 'utf8');
  const front = /^---\r?\n([\s\S]*?)\r?\n?---/.exec(text);
  if (!front) {
    problems.push(`.changeset/${file}: no front matter (--- "@heed/<name>": patch|minor|major ---)`);
    continue;
  }
  for (const line of lines(front[1])) {
    const entry = /^\s*["']?(@[^"':]+\/[^"':]+)["']?\s*:\s*(patch|minor|major)\s*$/.exec(line);
    if (!entry) problems.push(`.changeset/${file}: cannot read "${line.trim()}" (want "@heed/<name>": patch|minor|major)`);
    else if (!published.has(entry[1]))
      problems.push(`.changeset/${file}: ${entry[1]} is not a published package here (${[...published.keys()].join(', ')})`);
  }
}

if (problems.length) {
  console.error(`\nchangesets: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  console.error('\nAdd one with `pnpm changeset` (or `pnpm changeset --empty` when users see no change), in the same commit or merge.');
  process.exit(1);
}
console.log('changesets: ok');
