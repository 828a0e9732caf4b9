// Every ts/js code block of the root README and of each packages/*/README.md is a program: this test
// writes each one as a .ts file, type-checks them all with tsc (strict, NodeNext, as a user's project
// would), runs each compiled file with this Node, and compares what it prints with the block's output
// comments (the convention is in ./expected-output.ts). A block fenced as ```ts no-run is type-checked
// but not run. The files live in this package's node_modules/.cache, so `@heed/*` imports resolve to the
// workspace packages' built dist, as they do for a user who installed them; `pnpm test` builds them first.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedOutput, withoutOutput } from './expected-output';
import { EXAMPLE_LANGUAGES, extractCodeBlocks, type CodeBlock } from './extract-code-blocks';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workDir = join(root, 'examples', 'node_modules', '.cache', 'readme-examples');
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

/** The compiler options a user's strict Node project would have; one tsc run checks and compiles every block. */
const TSC_OPTIONS = ['--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--pretty', 'false'];

interface Example {
  readme: string;
  block: CodeBlock;
  /** The file name without extension, e.g. `multi-head-2`. */
  name: string;
}

const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages'))
    .sort()
    .map((name) => `packages/${name}/README.md`),
].filter((path) => existsSync(join(root, path)));
const examples: Example[] = readmes.flatMap((readme) => {
  const prefix = readme === 'README.md' ? 'root' : readme.split('/')[1]!;
  const blocks = extractCodeBlocks(readFileSync(join(root, readme), 'utf8')).filter((block) => EXAMPLE_LANGUAGES.has(block.language));
  return blocks.map((block, i) => ({ readme, block, name: `${prefix}-${i + 1}` }));
});

/** tsc's diagnostics per example file name (`src/multi-head-2.ts(3,5): error TS…` lines), and any others. */
let diagnostics: Map<string, string[]>;

beforeAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(join(workDir, 'src'), { recursive: true });
  writeFileSync(join(workDir, 'package.json'), '{ "private": true, "type": "module" }\n');
  for (const { block, name } of examples) writeFileSync(join(workDir, 'src', `${name}.ts`), `${block.code}\n`);
  let out = '';
  try {
    execFileSync(
      process.execPath,
      [tsc, ...TSC_OPTIONS, '--rootDir', 'src', '--outDir', 'js', ...examples.map(({ name }) => `src/${name}.ts`)],
      {
        cwd: workDir,
        encoding: 'utf8',
      },
    );
  } catch (error) {
    out = String((error as { stdout?: string }).stdout ?? error); // tsc exits non-zero on a type error, and still emits
  }
  diagnostics = new Map();
  let file = '(other)';
  for (const line of out.split('\n').filter(Boolean)) {
    if (!/^\s/.test(line)) file = /^src\/([\w-]+)\.ts\(/.exec(line)?.[1] ?? '(other)'; // indented lines continue the one above
    diagnostics.set(file, [...(diagnostics.get(file) ?? []), line]);
  }
});

describe('README examples', () => {
  it('every README has at least one example, and tsc reports nothing outside them', () => {
    for (const readme of readmes)
      expect(
        examples.some((example) => example.readme === readme),
        `${readme} has no ts/js block`,
      ).toBe(true);
    expect(diagnostics.get('(other)') ?? []).toEqual([]);
  });

  for (const { readme, block, name } of examples) {
    const runs = !block.flags.includes('no-run');
    it(`${readme}, block at line ${block.line} (${name}.ts) type-checks${runs ? ' and prints what the README says' : ''}`, async () => {
      expect(diagnostics.get(name) ?? [], `tsc ${TSC_OPTIONS.join(' ')} on ${relative(root, join(workDir, 'src', `${name}.ts`))}`).toEqual(
        [],
      );
      if (!runs) return;
      const { stdout, stderr, code } = await runNode(join(workDir, 'js', `${name}.js`));
      expect(code, `exit code; stderr:\n${stderr}`).toBe(0);
      expect(printedLines(stdout)).toEqual(expectedOutput(block.code));
    });
  }

  it('the root README example is examples/quickstart.mjs', () => {
    const quickstart = readFileSync(join(root, 'examples', 'quickstart.mjs'), 'utf8').replace(/^(\/\/.*\n)+/, ''); // without its header comment
    const first = examples.find((example) => example.readme === 'README.md')!;
    expect(withoutOutput(first.block.code)).toBe(quickstart.trimEnd());
  });
});

function runNode(file: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: workDir, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

/** stdout as lines, trailing spaces and the final newline dropped (the README's comments cannot hold them). */
function printedLines(stdout: string): string[] {
  const lines = stdout.split('\n').map((line) => line.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
