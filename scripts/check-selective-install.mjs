#!/usr/bin/env node
// Selective-install check: a user who installs one @heed/* package gets exactly that package and its
// @heed/* dependencies, and can use it from ESM, from CommonJS and from TypeScript (NodeNext).
//
// Assumes the packages are built (`pnpm build`). It runs `pnpm pack` into a temp folder for every
// package that a case installs (packages without a case are listed in a note); then, for each case
// below, it creates a fresh project outside the workspace (os.tmpdir()), `npm install`s only the
// tarballs listed in `needs`, and checks:
//   (a) node runs probe.mjs (ESM import of a named export) and prints `expect`;
//   (b) node runs probe.cjs (require) and prints `expect`;
//   (c) the ESM and CJS builds export the same names (and `exportName` among them);
//   (d) probe.mts and probe.cts (the same TS code, compiled as ESM and as CJS, so both the .d.ts and
//       the .d.cts are used) type-check with `tsc --noEmit` under module/moduleResolution NodeNext, strict;
//   (e) node_modules holds nothing but the `needs` packages (no runtime dependency outside @heed/*, except
//       the declaration-only packages a case lists in `typesOnly`, which must hold no JavaScript),
//       and `needs` is exactly the package plus its @heed/* dependency closure.
// TypeScript and @types/node (the root package.json's pins) are installed once into a shared temp
// folder. All temp folders are removed at the end, also on failure.
//
//   node scripts/check-selective-install.mjs            # all cases
//   node scripts/check-selective-install.mjs @heed/tensor   # only the named cases
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------------
// The cases. To add one, append an entry like this (once the package has a src/index.ts):
//
//   {
//     pkg: '@heed/scorers',
//     needs: ['@heed/scorers', '@heed/tensor'],            // the package + all its @heed/* deps
//     exportName: 'createScorer',
//     esm: "import { createScorer } from '@heed/scorers'; console.log(createScorer({ kind: 'dot' }).kind);",
//     cjs: "const { createScorer } = require('@heed/scorers'); console.log(createScorer({ kind: 'dot' }).kind);",
//     ts: "import { createScorer } from '@heed/scorers'; const kind: string = createScorer({ kind: 'dot' }).kind; console.log(kind);",
//     expect: 'dot',                                       // what each probe prints
//   },
// ---------------------------------------------------------------------------------------------------
const cases = [
  {
    pkg: '@heed/tensor',
    needs: ['@heed/tensor'],
    exportName: 'tensor',
    esm: "import { tensor } from '@heed/tensor'; console.log(tensor([1, 2, 3]).data.length === 3);",
    cjs: "const { tensor } = require('@heed/tensor'); console.log(tensor([1, 2, 3]).data.length === 3);",
    ts: "import { tensor } from '@heed/tensor'; const ok: boolean = tensor([1, 2, 3]).data.length === 3; console.log(ok);",
    expect: 'true',
  },
  {
    pkg: '@heed/scorers',
    needs: ['@heed/scorers', '@heed/tensor'],
    exportName: 'createScorer',
    esm: "import { createScorer } from '@heed/scorers'; import { tensor } from '@heed/tensor'; console.log(createScorer({ kind: 'dot' }).score(tensor([[[1, 2]]]), tensor([[[3, 4]]])).item());",
    cjs: "const { createScorer } = require('@heed/scorers'); const { tensor } = require('@heed/tensor'); console.log(createScorer({ kind: 'dot' }).score(tensor([[[1, 2]]]), tensor([[[3, 4]]])).item());",
    ts: "import { createScorer, type Scorer } from '@heed/scorers'; import { tensor } from '@heed/tensor'; const s: Scorer = createScorer({ kind: 'dot' }); const v: number = s.score(tensor([[[1, 2]]]), tensor([[[3, 4]]])).item(); console.log(v);",
    expect: '11',
  },
  {
    pkg: '@heed/soft-attention',
    needs: ['@heed/soft-attention', '@heed/scorers', '@heed/tensor'],
    exportName: 'attend',
    esm: "import { attend } from '@heed/soft-attention'; import { tensor } from '@heed/tensor'; const { context } = attend({ query: tensor([[[1, 0]]]), keys: tensor([[[1, 0], [0, 1]]]), values: tensor([[[2], [4]]]), normalizer: { kind: 'sparsemax' } }); console.log(context.item().toFixed(4));",
    cjs: "const { attend } = require('@heed/soft-attention'); const { tensor } = require('@heed/tensor'); const { context } = attend({ query: tensor([[[1, 0]]]), keys: tensor([[[1, 0], [0, 1]]]), values: tensor([[[2], [4]]]), normalizer: { kind: 'sparsemax' } }); console.log(context.item().toFixed(4));",
    ts: "import { attend, type AttendResult } from '@heed/soft-attention'; import { tensor } from '@heed/tensor'; const r: AttendResult = attend({ query: tensor([[[1, 0]]]), keys: tensor([[[1, 0], [0, 1]]]), values: tensor([[[2], [4]]]), normalizer: { kind: 'sparsemax' } }); console.log(r.context.item().toFixed(4));",
    expect: '2.2929',
  },
  {
    pkg: '@heed/self-attention',
    needs: ['@heed/self-attention', '@heed/soft-attention', '@heed/scorers', '@heed/tensor'],
    exportName: 'SelfAttention',
    esm: "import { SelfAttention } from '@heed/self-attention'; import { randn, Rng } from '@heed/tensor'; const a = new SelfAttention({ inputDim: 4, keyDim: 3, valueDim: 2, outputDim: 5, scorer: { kind: 'additive' }, rng: new Rng(0) }); console.log(a.forward(randn([2, 3, 4], new Rng(1)), { causal: true }).output.shape.join('x'));",
    cjs: "const { SelfAttention } = require('@heed/self-attention'); const { randn, Rng } = require('@heed/tensor'); const a = new SelfAttention({ inputDim: 4, keyDim: 3, valueDim: 2, outputDim: 5, scorer: { kind: 'additive' }, rng: new Rng(0) }); console.log(a.forward(randn([2, 3, 4], new Rng(1)), { causal: true }).output.shape.join('x'));",
    ts: "import { SelfAttention, type SelfAttentionResult } from '@heed/self-attention'; import { randn, Rng } from '@heed/tensor'; const a = new SelfAttention({ inputDim: 4, keyDim: 3, valueDim: 2, outputDim: 5, scorer: { kind: 'additive' }, rng: new Rng(0) }); const r: SelfAttentionResult = a.forward(randn([2, 3, 4], new Rng(1)), { causal: true }); const s: string = r.output.shape.join('x'); console.log(s);",
    expect: '2x3x5',
  },
  {
    pkg: '@heed/multi-head',
    needs: ['@heed/multi-head', '@heed/soft-attention', '@heed/scorers', '@heed/tensor'],
    exportName: 'MultiHeadAttention',
    esm: "import { MultiHeadAttention } from '@heed/multi-head'; import { zeros } from '@heed/tensor'; const m = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }); const x = zeros([2, 3, 8]); const cache = m.createCache(); m.forward(x, x, x, { causal: true, cache }); console.log(m.forward(x, x, x, { causal: true, cache, averageHeadWeights: false }).weights.shape.join('x'));",
    cjs: "const { MultiHeadAttention } = require('@heed/multi-head'); const { zeros } = require('@heed/tensor'); const m = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }); const x = zeros([2, 3, 8]); const cache = m.createCache(); m.forward(x, x, x, { causal: true, cache }); console.log(m.forward(x, x, x, { causal: true, cache, averageHeadWeights: false }).weights.shape.join('x'));",
    ts: "import { MultiHeadAttention, type KeyValueCache, type MultiHeadAttentionResult } from '@heed/multi-head'; import { zeros } from '@heed/tensor'; const m = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }); const x = zeros([2, 3, 8]); const cache: KeyValueCache = m.createCache(); m.forward(x, x, x, { causal: true, cache }); const r: MultiHeadAttentionResult = m.forward(x, x, x, { causal: true, cache, averageHeadWeights: false }); const s: string = r.weights?.shape.join('x') ?? 'none'; console.log(s);",
    expect: '2x4x3x6',
  },
  {
    pkg: '@heed/onnx',
    needs: ['@heed/onnx', '@heed/multi-head', '@heed/self-attention', '@heed/soft-attention', '@heed/scorers', '@heed/tensor'],
    exportName: 'exportToOnnx',
    esm: "import { exportToOnnx } from '@heed/onnx'; import { MultiHeadAttention } from '@heed/multi-head'; const r = exportToOnnx(new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }), { causal: true }); console.log(r.attentionOp, r.bytes.length > 1000);",
    cjs: "const { exportToOnnx } = require('@heed/onnx'); const { MultiHeadAttention } = require('@heed/multi-head'); const r = exportToOnnx(new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }), { causal: true }); console.log(r.attentionOp, r.bytes.length > 1000);",
    ts: "import { exportToOnnx, type OnnxExport } from '@heed/onnx'; import { MultiHeadAttention } from '@heed/multi-head'; const r: OnnxExport = exportToOnnx(new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }), { causal: true }); const ok: boolean = r.bytes.length > 1000; console.log(r.attentionOp, ok);",
    expect: 'Attention true',
  },
  {
    pkg: '@heed/webgpu',
    needs: ['@heed/webgpu', '@heed/tensor'],
    // WebGPU's type declarations (GPUDevice, ...), named in @heed/webgpu's own declarations.
    typesOnly: ['@webgpu/types'],
    // Those declarations use DOM types (EventTarget, VideoFrame, ...): a WebGPU project compiles with the DOM lib.
    lib: ['ES2022', 'DOM'],
    exportName: 'requestGpuDevice',
    esm: "import { requestGpuDevice } from '@heed/webgpu'; requestGpuDevice().catch((e) => console.log(e.name));",
    cjs: "const { requestGpuDevice } = require('@heed/webgpu'); requestGpuDevice().catch((e) => console.log(e.name));",
    ts: "import { requestGpuDevice, WebGpuUnavailableError } from '@heed/webgpu'; requestGpuDevice().catch((e: unknown) => console.log(e instanceof WebGpuUnavailableError ? e.name : 'other'));",
    expect: 'WebGpuUnavailableError',
  },
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const typescriptVersion = rootManifest.devDependencies.typescript;
const typesNodeVersion = rootManifest.devDependencies['@types/node'];

const tempDirs = [];
function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
function cleanup() {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

function run(command, args, cwd) {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`\`${command} ${args.join(' ')}\` failed in ${cwd}:\n${output}`);
  }
}
const npmInstallFlags = ['--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'];

/** Workspace packages under packages/*: name -> { dir, manifest }. */
function workspacePackages() {
  const packages = new Map();
  for (const entry of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
    const dir = join(root, 'packages', entry.name);
    if (!entry.isDirectory() || !existsSync(join(dir, 'package.json'))) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!manifest.private) packages.set(manifest.name, { dir, manifest });
  }
  return packages;
}

/** The package and its @heed/* dependencies, transitively. */
function closure(name, packages, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const info = packages.get(name);
  if (!info) throw new Error(`${name} is not a workspace package under packages/`);
  for (const dep of Object.keys(info.manifest.dependencies ?? {})) {
    if (dep.startsWith('@heed/')) closure(dep, packages, seen);
  }
  return seen;
}

function pack(names, packages, packDir) {
  const tarballs = new Map();
  for (const name of names) {
    const info = packages.get(name);
    if (!info) throw new Error(`${name} is not a workspace package under packages/`);
    const { dir, manifest } = info;
    if (!existsSync(join(dir, 'dist'))) {
      throw new Error(`${name} has no dist/: run \`pnpm build\` first`);
    }
    run('pnpm', ['pack', '--pack-destination', packDir], dir);
    const file = join(packDir, `${name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`);
    if (!existsSync(file)) throw new Error(`pnpm pack did not produce ${file}`);
    tarballs.set(name, file);
  }
  return tarballs;
}

/** Every file under dir, relative to it. */
function listFiles(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

function checkCase(testCase, packages, tarballs, toolsDir) {
  const { pkg, needs } = testCase;
  const expected = [...closure(pkg, packages)].sort();
  if (JSON.stringify([...needs].sort()) !== JSON.stringify(expected)) {
    throw new Error(`needs of ${pkg} should be exactly [${expected.join(', ')}], not [${needs.join(', ')}]`);
  }

  const dir = tempDir('heed-consumer-');
  run('npm', ['init', '-y'], dir);
  run('npm', ['install', ...needs.map((name) => tarballs.get(name)), ...npmInstallFlags], dir);

  // (e) nothing but the needed @heed/* packages got installed.
  const installed = [];
  for (const entry of readdirSync(join(dir, 'node_modules'))) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const scoped of readdirSync(join(dir, 'node_modules', entry))) installed.push(`${entry}/${scoped}`);
    } else {
      installed.push(entry);
    }
  }
  const typesOnly = testCase.typesOnly ?? [];
  const extra = installed.filter((name) => !needs.includes(name) && !typesOnly.includes(name));
  if (extra.length > 0) throw new Error(`installing ${pkg} also installed: ${extra.join(', ')}`);
  for (const name of typesOnly) {
    const code = listFiles(join(dir, 'node_modules', name)).filter((file) => /\.(m|c)?js$/.test(file));
    if (code.length > 0) throw new Error(`${name}, installed with ${pkg} as declarations only, holds code: ${code.join(', ')}`);
  }

  // (a), (b): run the probes.
  writeFileSync(join(dir, 'probe.mjs'), `${testCase.esm}\n`);
  writeFileSync(join(dir, 'probe.cjs'), `${testCase.cjs}\n`);
  for (const file of ['probe.mjs', 'probe.cjs']) {
    const output = run(process.execPath, [file], dir).trim();
    if (output !== testCase.expect) {
      throw new Error(`${file} printed ${JSON.stringify(output)}, expected ${JSON.stringify(testCase.expect)}`);
    }
  }

  // (c) the ESM and the CJS build export the same names.
  const exportsScript = `
    const esm = Object.keys(await import(${JSON.stringify(pkg)})).filter((k) => k !== 'default').sort();
    const { createRequire } = await import('node:module');
    const cjs = Object.keys(createRequire(process.cwd() + '/')(${JSON.stringify(pkg)})).sort();
    console.log(JSON.stringify({ esm, cjs }));`;
  writeFileSync(join(dir, 'exports.mjs'), exportsScript);
  const { esm, cjs } = JSON.parse(run(process.execPath, ['exports.mjs'], dir));
  if (JSON.stringify(esm) !== JSON.stringify(cjs)) {
    throw new Error(`ESM and CJS exports of ${pkg} differ:\n  esm: ${esm.join(', ')}\n  cjs: ${cjs.join(', ')}`);
  }
  if (!esm.includes(testCase.exportName)) throw new Error(`${pkg} does not export ${testCase.exportName}`);

  // (d) type-check as ESM (.mts -> import conditions, .d.ts) and as CJS (.cts -> require conditions, .d.cts).
  writeFileSync(join(dir, 'probe.mts'), `${testCase.ts}\n`);
  writeFileSync(join(dir, 'probe.cts'), `${testCase.ts}\n`);
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: testCase.lib ?? ['ES2022'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      typeRoots: [join(toolsDir, 'node_modules', '@types')],
      types: ['node'],
    },
    files: ['probe.mts', 'probe.cts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  run(process.execPath, [join(toolsDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);

  return esm.length;
}

const only = process.argv.slice(2);
const selected = only.length > 0 ? cases.filter((c) => only.includes(c.pkg)) : cases;
if (selected.length === 0) {
  console.error(`no case matches ${only.join(', ')}; known: ${cases.map((c) => c.pkg).join(', ')}`);
  process.exit(1);
}

const started = Date.now();
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
let passed = 0;
let failed = 0;
try {
  const packages = workspacePackages();
  const uncovered = [...packages.keys()].filter((name) => !cases.some((c) => c.pkg === name));
  if (uncovered.length > 0) console.log(`note: no case yet for ${uncovered.join(', ')} (add one below the others)`);

  // Pack every package the selected cases install (each case's package and its @heed/* deps).
  let step = Date.now();
  const tarballs = pack([...new Set(selected.flatMap((c) => c.needs))].sort(), packages, tempDir('heed-pack-'));
  console.log(`packed ${[...tarballs.keys()].join(', ')} (${seconds(step)})`);

  step = Date.now();
  const toolsDir = tempDir('heed-tools-');
  run('npm', ['init', '-y'], toolsDir);
  run('npm', ['install', `typescript@${typescriptVersion}`, `@types/node@${typesNodeVersion}`, ...npmInstallFlags], toolsDir);
  console.log(`installed typescript@${typescriptVersion} and @types/node@${typesNodeVersion} (${seconds(step)})`);

  for (const testCase of selected) {
    step = Date.now();
    try {
      const exportCount = checkCase(testCase, packages, tarballs, toolsDir);
      passed += 1;
      console.log(`ok   ${testCase.pkg}: esm, cjs, ${exportCount} exports match, tsc NodeNext (.mts, .cts) (${seconds(step)})`);
    } catch (error) {
      failed += 1;
      console.error(`FAIL ${testCase.pkg}: ${error.message}`);
    }
  }
} catch (error) {
  failed += 1;
  console.error(`FAIL ${error.message}`);
} finally {
  cleanup();
}
console.log(`selective install: ${passed} passed, ${failed} failed (${seconds(started)})`);
process.exitCode = failed > 0 ? 1 : 0;
