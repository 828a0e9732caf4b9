// pnpm bench [--quick | --full] [--node PATH] [--node-flags="--flag …"] [--only=id,id] [--lengths=128,512]
//            [--no-train] [--mem-cap-gb=6]
//
// Runs heed and its peers on identical inputs, each implementation × task in its own child
// process (child.mjs, under the parent's Node or --node PATH, with the parent's runtime flags),
// prints one table, writes results/latest.json and results/gflops.svg.
// Exits non-zero when an output disagrees with heed's beyond 1e-3 relative, or a timed row fails.

import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { flopsOf } from './problem.mjs';
import { IMPLS } from './impls.mjs';
import { detectHeed } from './impl-heed.mjs';
import { formatTable, gflopsSvg } from './report.mjs';
import { CAUSAL_LENGTH } from './targets.mjs';
import { resolveRuntime } from './runtime.mjs';
import { buildLabel } from './wasm-build.mjs';
import { runVariantRows } from './variant-rows.mjs';
import { runProfile } from './profile-rows.mjs';

// --gpu: heed on WebGPU against its GPU peers and heed on the CPU (gpu.mjs), a bench of its own.
if (process.argv.includes('--gpu')) {
  const { runGpuBench } = await import('./gpu.mjs');
  process.exit(await runGpuBench(process.argv.slice(2).filter((a) => a !== '--gpu' && a !== '--')));
}

const here = dirname(fileURLToPath(import.meta.url));
const TOLERANCE = 1e-3; // relative: max |out − heed| / max |heed|

// --- options ----------------------------------------------------------------------------------

const argv = process.argv.slice(2).filter((a) => a !== '--');
const flag = (name) => argv.includes(`--${name}`);
/** `--name=value` or `--name value`. */
const value = (name) => {
  const joined = argv.find((a) => a.startsWith(`--${name}=`));
  if (joined) return joined.slice(name.length + 3);
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < argv.length ? argv[at + 1] : undefined;
};
const KNOWN = [
  'quick',
  'full',
  'node',
  'node-flags',
  'only',
  'lengths',
  'no-train',
  'memory',
  'no-memory',
  'memory-length',
  'mem-cap-gb',
  'memory-limit-s',
  'out',
  'variants-only',
  'no-variants',
  'no-profile',
];
for (const [i, a] of argv.entries()) {
  const name = a.startsWith('--') ? a.slice(2).split('=')[0] : null;
  const isValue = i > 0 && ['--node', '--node-flags', '--out'].includes(argv[i - 1]);
  if (!isValue && (name === null || !KNOWN.includes(name)))
    throw new Error(`pnpm bench: unknown option ${a} (known: ${KNOWN.map((k) => `--${k}`).join(' ')})`);
}
// Paths are relative to where the command was typed (pnpm runs the script inside bench/ and says where in INIT_CWD).
const userPath = (p) => resolve(process.env.INIT_CWD ?? process.cwd(), p);
const resultsDir = value('out') ? userPath(value('out')) : join(here, '..', 'results');
const full = flag('full');
const quick = flag('quick');
if (full && quick) throw new Error('pnpm bench: choose one of --quick and --full');
const MODES = {
  quick: {
    mode: 'quick',
    windowLengths: [],
    lengths: [128, 256],
    warmup: 1,
    minRuns: 2,
    maxRuns: 3,
    budgetMs: 300,
    rowLimitMs: 4000,
    memory: false,
    trainLength: 256,
    steadyWarmUp: { minMs: 1500, maxMs: 5000 },
  },
  short: {
    mode: 'short',
    windowLengths: [1024, 4096],
    lengths: [128, 512, 1024],
    warmup: 1,
    minRuns: 2,
    maxRuns: 5,
    budgetMs: 1000,
    rowLimitMs: 10_000,
    memory: false,
    trainLength: 512,
  },
  full: {
    mode: 'full',
    windowLengths: [1024, 4096, 16384],
    lengths: [128, 512, 1024, 2048, 4096],
    warmup: 1,
    minRuns: 2,
    maxRuns: 10,
    budgetMs: 4000,
    rowLimitMs: 120_000,
    memory: true,
    trainLength: 512,
  },
};
const config = { ...MODES[full ? 'full' : quick ? 'quick' : 'short'] };
/** The sliding window of the window rows. */
const WINDOW = 256;
if (value('lengths')) config.lengths = value('lengths').split(',').map(Number);
if (flag('memory')) config.memory = true;
if (flag('no-memory')) config.memory = false;
config.train = !flag('no-train');
config.memoryLength = Number(value('memory-length') ?? 16384);
config.memoryCapBytes = Number(value('mem-cap-gb') ?? Math.min(6, (0.5 * freemem()) / 2 ** 30)) * 2 ** 30;
config.memoryRowLimitMs = Number(value('memory-limit-s') ?? 330) * 1000;

// --- the runtime of the children -----------------------------------------------------------------

const runtime = resolveRuntime({
  nodePath: value('node') ? userPath(value('node')) : process.execPath,
  parentExecArgv: process.execArgv,
  extraFlags: value('node-flags')?.split(/\s+/).filter(Boolean) ?? [],
});
for (const { flag: f, reason } of runtime.dropped)
  process.stderr.write(`note: node ${runtime.node} refuses ${f}, children run without it (${reason})\n`);
// The attention-variant rows (variant-rows.mjs): alone with --variants-only, after the table otherwise.
if (flag('variants-only')) {
  await runVariantRows({ mode: config.mode, runtime });
  process.exit(0);
}

// --- which implementations exist ----------------------------------------------------------------

const heed = await detectHeed();
const available = [
  'heed-js',
  ...(heed.wasm ? ['heed-wasm1'] : []),
  ...(heed.wasmThreads ? ['heed-wasm2'] : []),
  'tfjs-cpu',
  'tfjs-wasm',
  'tfjs-wasm-head',
  'ort-1',
  'ort-2',
  'onnx-export-1',
  'onnx-export-2',
  'ortweb-1',
  'ortweb-2',
];
const only = value('only')?.split(',');
const chosen = only ? available.filter((id) => only.includes(id)) : available;
const heedIds = chosen.filter((id) => IMPLS[id].family === 'heed');

function versionOf(pkg) {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (json.name === pkg) return json.version;
    } catch {
      /* keep walking up */
    }
    const up = dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}
const versions = Object.fromEntries(
  [
    '@heed/tensor',
    '@heed/soft-attention',
    '@heed/multi-head',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    'onnxruntime-node',
    'onnxruntime-web',
  ].map((p) => [p, versionOf(p)]),
);

// --- child processes ----------------------------------------------------------------------------

const refDir = mkdtempSync(join(tmpdir(), 'heed-bench-'));

function vmRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs one child job; resolves { info, rows: [{ L, ...row } | { L, skipped } | { L, error }] }. */
function runChild(job, timeoutMs) {
  return new Promise((resolve) => {
    const child = fork(join(here, 'child.mjs'), [JSON.stringify(job)], {
      execPath: runtime.execPath,
      execArgv: runtime.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const rows = new Map();
    let info = null;
    let failure = null;
    let killedFor = null;
    let maxSeen = 0;
    // Watchdog: RSS over the cap (a peer materialising L×L matrices at L = 16384) or over time.
    const poll = setInterval(() => {
      const rss = vmRss(child.pid);
      maxSeen = Math.max(maxSeen, rss);
      if (rss > config.memoryCapBytes && !killedFor) {
        killedFor = `RSS passed the ${(config.memoryCapBytes / 2 ** 20).toFixed(0)} MB cap`;
        child.kill('SIGKILL');
      }
    }, 50);
    const timer = setTimeout(() => {
      killedFor = `took over ${(timeoutMs / 1000).toFixed(0)} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m) => {
      if (m.type === 'info') info = m.info;
      else if (m.type === 'row') rows.set(m.row.L, m.row);
      else if (m.type === 'skip') rows.set(m.L, { L: m.L, skipped: m.reason });
      else if (m.type === 'error') failure = m.message;
    });
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      const out = job.lengths.map((L) => {
        if (rows.has(L)) return rows.get(L);
        if (killedFor) return { L, killed: killedFor, peakRssMB: maxSeen / 2 ** 20 };
        return { L, error: failure ?? `child exited with code ${code}\n${log.slice(-2000)}` };
      });
      resolve({ info, rows: out });
    });
  });
}

// --- the plan -------------------------------------------------------------------------------------

const results = [];
const infos = {};
const childRuntimes = new Set();
const started = Date.now();
const loadAtStart = loadavg()[0];
const progress = (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

async function runRow(task, id, lengths, overrides = {}) {
  const job = { ...config, impl: id, task, lengths, causal: false, refDir, ...overrides };
  const timeoutMs = overrides.timeoutMs ?? Math.max(60_000, lengths.length * config.rowLimitMs * 1.5);
  progress(`${task}${job.causal ? ' (causal)' : ''}: ${IMPLS[id].label} at L = ${lengths.join(', ')}`);
  const { info, rows } = await runChild(job, timeoutMs);
  if (info) {
    infos[id] ??= { kernels: info.kernels, build: info.build, paths: {} };
    infos[id].paths[overrides.rowTask ?? task] = info.path;
    childRuntimes.add(JSON.stringify(info.runtime));
  }
  // Every row carries the build its own child reported (relaxed SIMD or SIMD-128, threads).
  const build = info?.build ?? null;
  for (const row of rows) {
    results.push({
      task: overrides.rowTask ?? task,
      impl: id,
      label: IMPLS[id].label,
      family: IMPLS[id].family,
      build,
      buildLabel: build ? buildLabel(build) : undefined,
      flops: flopsOf(task, row.L),
      ...row,
    });
  }
  return rows;
}

const ordered = [...heedIds, ...chosen.filter((id) => !heedIds.includes(id))]; // heed first: it writes the reference
for (const task of ['mha', 'sdpa']) {
  for (const id of ordered) await runRow(task, id, config.lengths);
}
// heed's fused causal sliding window (W = 256, Mistral's i − W < j ≤ i) against its full causal SDPA: the window
// skips the key tiles it cannot see, so its time grows with L·W rather than L².
for (const id of ordered.filter((id) => IMPLS[id].family === 'heed' && config.windowLengths.length > 0)) {
  await runRow('sdpa', id, config.windowLengths, { causal: true, rowTask: 'sdpa-causal' });
  await runRow('sdpa', id, config.windowLengths, { causal: true, window: WINDOW, rowTask: 'sdpa-window' });
}
// The causal target: heed's causal MHA (masked key tiles skipped) against its full MHA at L = 4096, one thread.
if (chosen.includes('heed-wasm1') && config.windowLengths.length > 0) {
  if (!config.lengths.includes(CAUSAL_LENGTH)) await runRow('mha', 'heed-wasm1', [CAUSAL_LENGTH]);
  await runRow('mha', 'heed-wasm1', [CAUSAL_LENGTH], { causal: true, rowTask: 'mha-causal' });
}
if (config.train) {
  // The issue's target: heed against tfjs-wasm in its fastest form (per head); the batched form too in --full.
  const trainPeers = full ? ['tfjs-wasm', 'tfjs-wasm-head'] : ['tfjs-wasm-head'];
  for (const id of ordered.filter((id) => IMPLS[id].family === 'heed' || trainPeers.includes(id))) {
    await runRow('train', id, [config.trainLength], { minRuns: 2, maxRuns: 5 });
  }
}
if (config.memory) {
  const L = config.memoryLength;
  for (const id of ordered) {
    // Skip upfront what would take too long, from the speed measured at the longest timed length.
    const timed = results.filter((r) => r.task === 'mha' && r.impl === id && r.medianMs).at(-1);
    // heed's fused causal path skips the masked half of the scores; the peers compute all of them.
    const work = IMPLS[id].family === 'heed' ? flopsOf('mha', L) - flopsOf('sdpa', L) / 2 : flopsOf('mha', L);
    const estimateMs = timed ? (timed.medianMs * work) / timed.flops : Infinity;
    if (estimateMs > config.memoryRowLimitMs) {
      results.push({
        task: 'memory',
        impl: id,
        label: IMPLS[id].label,
        family: IMPLS[id].family,
        flops: flopsOf('mha', L),
        L,
        skipped: `est. ${(estimateMs / 1000).toFixed(0)} s > ${config.memoryRowLimitMs / 1000} s limit`,
      });
      continue;
    }
    await runRow('mha', id, [L], {
      causal: true,
      warmup: 0,
      minRuns: 1,
      maxRuns: 1,
      rowTask: 'memory',
      timeoutMs: 2 * config.memoryRowLimitMs,
    });
  }
}
rmSync(refDir, { recursive: true, force: true });

// --- report -----------------------------------------------------------------------------------------

for (const r of results) {
  if (r.medianMs && !['memory', 'mha-causal', 'sdpa-causal', 'sdpa-window'].includes(r.task)) r.gflops = r.flops / r.medianMs / 1e6; // memory rows: heed's causal path does less work
  if (r.relDiff !== undefined) r.agrees = r.relDiff <= TOLERANCE;
}
// heed's speed-up over each peer: the peer's median over the fastest heed row's at the same task and L.
for (const r of results) {
  if (!r.medianMs || r.family === 'heed' || r.task === 'memory') continue;
  const heedRows = results.filter((h) => h.family === 'heed' && h.task === r.task && h.L === r.L && h.medianMs);
  if (heedRows.length === 0) continue;
  const best = heedRows.reduce((a, b) => (a.medianMs <= b.medianMs ? a : b));
  r.heedSpeedup = r.medianMs / best.medianMs;
  r.heedBest = best.label;
  r.heedSpeedups = Object.fromEntries(heedRows.map((h) => [h.label, r.medianMs / h.medianMs])); // every heed variant
}

const meta = {
  date: new Date().toISOString(),
  mode: config.mode,
  node: runtime.node,
  v8: runtime.v8,
  runtime: {
    execPath: runtime.execPath,
    execArgv: runtime.execArgv,
    dropped: runtime.dropped,
    parent: { node: process.version, v8: process.versions.v8, execArgv: process.execArgv },
    reportedByChildren: [...childRuntimes].map((j) => JSON.parse(j)),
  },
  cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  loadAverage: { start: loadAtStart, end: loadavg()[0] }, // 1-minute load: other work on the machine
  versions,
  heed: { detected: heed, kernels: Object.fromEntries(heedIds.map((id) => [IMPLS[id].label, infos[id] ?? null])) },
  peers: Object.fromEntries(chosen.filter((id) => IMPLS[id].family !== 'heed').map((id) => [IMPLS[id].label, infos[id] ?? null])),
  config: { ...config, memoryCapBytes: undefined, memoryCapMB: Math.round(config.memoryCapBytes / 2 ** 20) },
  tolerance: TOLERANCE,
  seconds: Math.round((Date.now() - started) / 1000),
};

console.log(formatTable(results, meta));
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`);
writeFileSync(join(resultsDir, 'gflops.svg'), gflopsSvg(results, meta));
console.log(
  `\nwrote ${relative(process.cwd(), join(resultsDir, 'latest.json'))} and ${relative(process.cwd(), join(resultsDir, 'gflops.svg'))} (${meta.seconds} s)`,
);

// What explains the MHA ratios and what limits them (profile-rows.mjs): not in --quick, whose lengths stop short of L = 1024.
if (!flag('no-profile') && config.mode !== 'quick' && heedIds.includes('heed-wasm1')) {
  const profile = await runProfile({ runtime });
  writeFileSync(join(resultsDir, 'profile.json'), `${JSON.stringify({ date: meta.date, node: runtime.node, ...profile }, null, 2)}\n`);
}

if (!flag('no-variants')) {
  const variants = await runVariantRows({ mode: config.mode, runtime });
  writeFileSync(join(resultsDir, 'variants.json'), `${JSON.stringify({ date: meta.date, node: runtime.node, ...variants }, null, 2)}\n`);
}

const mismatches = results.filter((r) => r.agrees === false);
const failures = results.filter((r) => r.error && r.task !== 'memory');
if (mismatches.length > 0) {
  console.error(`\n!!! NUMERICAL MISMATCH: ${mismatches.length} row(s) differ from heed by more than ${TOLERANCE} relative:`);
  for (const r of mismatches) console.error(`!!!   ${r.label} ${r.task} L=${r.L}: max |Δ| = ${r.maxAbsDiff}, relative ${r.relDiff}`);
}
if (failures.length > 0) {
  console.error(`\n!!! ${failures.length} row(s) failed:`);
  for (const r of failures) console.error(`!!!   ${r.label} ${r.task} L=${r.L}: ${r.error.split('\n').slice(0, 6).join('\n      ')}`);
}
if (mismatches.length > 0 || failures.length > 0) process.exitCode = 1;
