// A package README is also the package's page on the npm registry, where a relative link (`src/foo.ts`,
// `../../CONTRIBUTING.md`) points nowhere: the tarball holds only dist/. Every link there must be
// absolute (https://…) or an anchor on the same page.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packages = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages');

describe('package READMEs', () => {
  for (const name of readdirSync(packages).sort()) {
    it(`packages/${name}/README.md links only to absolute URLs or anchors`, () => {
      const markdown = readFileSync(join(packages, name, 'README.md'), 'utf8');
      const targets = [...markdown.matchAll(/\]\(([^)\s]+)[^)]*\)/g), ...markdown.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)].map(
        (match) => match[1]!,
      );
      expect(targets.length).toBeGreaterThan(0);
      expect(targets.filter((target) => !/^(https:\/\/|#)/.test(target))).toEqual([]);
    });
  }
});
