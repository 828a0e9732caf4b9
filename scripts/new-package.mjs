#!/usr/bin/env node
// Create packages/<name> from scripts/package-template (package.json, tsup/tsconfig/vitest configs,
// README.md, LICENSE). It never creates or touches src/: add src/index.ts and tests yourself.
//
//   node scripts/new-package.mjs <name> "<description>" [dep ...]
//   node scripts/new-package.mjs scorers "Scorers for heed" tensor
//   node scripts/new-package.mjs soft-attention "Normalizers, masks and attend() for heed" tensor scorers
//
// A dep is the name of another packages/<dep> (with or without the @heed/ prefix); it is added as
// "@heed/<dep>": "workspace:*". Then run `pnpm install` to link it and update the lockfile.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const templateDir = join(root, 'scripts', 'package-template');

function fail(message) {
  console.error(`new-package: ${message}`);
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dep ...]');
  process.exit(1);
}

const [name, description, ...depArgs] = process.argv.slice(2);
if (!name || !description) fail('a name and a description are required');
if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(`invalid name "${name}": use lowercase letters, digits and dashes`);

const packageDir = join(root, 'packages', name);
if (existsSync(join(packageDir, 'package.json'))) fail(`packages/${name}/package.json already exists`);

const deps = depArgs.map((dep) => dep.replace(/^@heed\//, ''));
for (const dep of deps) {
  if (dep === name) fail(`a package cannot depend on itself (${dep})`);
  if (!existsSync(join(root, 'packages', dep, 'package.json'))) {
    fail(`unknown dependency "${dep}": packages/${dep}/package.json does not exist`);
  }
}

const fill = (text) => text.replaceAll('NAME', name).replaceAll('DESCRIPTION', description);

mkdirSync(packageDir, { recursive: true });

// Fill the placeholders in the parsed template's string values, so any description stays valid JSON.
const fillValues = (value) =>
  typeof value === 'string'
    ? fill(value)
    : Array.isArray(value)
      ? value.map(fillValues)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fillValues(inner)]))
        : value;
const manifest = fillValues(JSON.parse(readFileSync(join(templateDir, 'package.json'), 'utf8')));
if (deps.length > 0) {
  manifest.dependencies = Object.fromEntries(deps.sort().map((dep) => [`@heed/${dep}`, 'workspace:*']));
} else {
  delete manifest.dependencies;
}
writeFileSync(join(packageDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

for (const file of ['tsup.config.ts', 'tsconfig.json', 'vitest.config.ts']) {
  writeFileSync(join(packageDir, file), fill(readFileSync(join(templateDir, file), 'utf8')));
}
if (!existsSync(join(packageDir, 'README.md'))) {
  writeFileSync(join(packageDir, 'README.md'), fill(readFileSync(join(templateDir, 'README.md.template'), 'utf8')));
}
copyFileSync(join(root, 'LICENSE'), join(packageDir, 'LICENSE'));

console.log(`created packages/${name} (${deps.length ? `depends on ${deps.map((d) => `@heed/${d}`).join(', ')}` : 'no dependencies'})`);
console.log(`next: add packages/${name}/src/index.ts and a test, then run \`pnpm install\``);
