// The attention-variant rows of `pnpm bench` (issue #12), heed only, on its WebAssembly kernels (1 thread):
//   - a causal sliding window W = 256 at L = 1024, 4096, 16384 against full causal attention: the fused
//     kernels skip the key tiles outside the window, so time(16384) / time(4096) should be ≈ 4 (target ≤ 4.5)
//     and window / full causal at 4096 ≈ W / (L/2) (target ≤ 0.25);
//   - ALiBi and the Gemma-2 soft-cap on the fused path against plain scaled-dot fused (target ≤ 1.15×);
//   - linear attention (elu + 1, O(L·d²)) against softmax attention (fused, O(L²·d)) at L = 1024 … 16384.
// Each kind of row runs in its own child process (`node variant-rows.mjs --child <job>`), forward only, H = 8
// heads of d = 64 (the bench's MHA shape), inputs N(0, 1) from a fixed seed.
// Run alone: `node --expose-gc src/variant-rows.mjs [--quick | --full]` inside bench/.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HEAD_DIM, HEADS } from './problem.mjs';

const WINDOW = 256;
const here = fileURLToPath(import.meta.url);

/** Lengths and runs per mode. */
const MODES = {
  quick: { window: [1024, 4096, 16384], biased: [1024], linear: [1024, 4096], runs: 5 },
  short: { window: [1024, 4096, 16384], biased: [1024, 4096], linear: [1024, 4096, 16384], runs: 5 },
  full: { window: [1024, 4096, 16384], biased: [1024, 4096], linear: [1024, 2048, 4096, 8192, 16384], runs: 5 },
};

/**
 * The jobs of one mode; each runs in its own child, timing its kinds round-robin at each length (run 1 of
 * every kind, then run 2, …), so a ratio compares runs made under the same load. `upTo` caps a kind's L.
 */
function jobsOf(mode) {
  const m = MODES[mode];
  return [
    { kinds: [{ kind: 'window' }, { kind: 'causal', upTo: 4096 }], lengths: m.window },
    { kinds: [{ kind: 'scaled-dot' }, { kind: 'alibi' }, { kind: 'softcap' }], lengths: m.biased },
    { kinds: [{ kind: 'softmax' }, { kind: 'linear' }], lengths: m.linear },
  ].map((job) => ({ ...job, runs: m.runs }));
}

const LABELS = {
  causal: 'SDPA causal (fused)',
  window: `SDPA causal sliding window W = ${WINDOW} (fused)`,
  'scaled-dot': 'SDPA scaled-dot (fused, non-causal)',
  alibi: 'SDPA + ALiBi (fused)',
  softcap: 'SDPA + softcap 50 (fused)',
  softmax: 'softmax attention (fused, non-causal)',
  linear: 'linear attention (elu + 1, non-causal)',
};

/**
 * Runs the variant rows under `runtime` (the children's Node and flags, as main.mjs resolves them; default
 * this Node), prints their table and the issue's ratios, and returns { rows, ratios }.
 */
export async function runVariantRows({ mode = 'short', runtime = null } = {}) {
  const rows = [];
  for (const job of jobsOf(mode)) for (const row of await runChild(job, runtime)) rows.push({ label: LABELS[row.kind], ...row });
  // Ratios from each row's fastest run: on a shared machine the minimum is the run least disturbed by other work.
  const ms = (kind, L) => rows.find((r) => r.kind === kind && r.L === L)?.minMs;
  const ratio = (a, b) => (a && b ? a / b : null);
  const ratios = [
    ['window time(16384) / time(4096)', ratio(ms('window', 16384), ms('window', 4096)), '≤ 4.5'],
    ['window / full causal at L = 4096', ratio(ms('window', 4096), ms('causal', 4096)), '≤ 0.25'],
    ...MODES[mode].biased.flatMap((L) => [
      [`ALiBi fused / scaled-dot fused at L = ${L}`, ratio(ms('alibi', L), ms('scaled-dot', L)), '≤ 1.15'],
      [`softcap fused / scaled-dot fused at L = ${L}`, ratio(ms('softcap', L), ms('scaled-dot', L)), '≤ 1.15'],
    ]),
    ...MODES[mode].linear.map((L) => [`linear / softmax attention at L = ${L}`, ratio(ms('linear', L), ms('softmax', L)), '']),
  ];
  console.log(formatVariantTable(rows, ratios));
  return { rows, ratios: ratios.map(([what, value, target]) => ({ what, value, target })) };
}

function formatVariantTable(rows, ratios) {
  const lines = [`\nattention variants (heed, WebAssembly kernels, 1 thread; B = 1, H = ${HEADS}, d = ${HEAD_DIM}, forward)`];
  lines.push(`${'row'.padEnd(46)} ${'L'.padStart(6)} ${'runs'.padStart(5)} ${'median ms'.padStart(10)} ${'min ms'.padStart(10)}`);
  for (const r of rows) {
    const [median, min] = r.medianMs !== undefined ? [r.medianMs.toFixed(1), r.minMs.toFixed(1)] : [r.error ?? 'failed', ''];
    lines.push(
      `${(r.label ?? r.kind).padEnd(46)} ${String(r.L).padStart(6)} ${String(r.runs ?? 0).padStart(5)} ${median.padStart(10)} ${min.padStart(10)}`,
    );
  }
  lines.push('\nratios of the fastest runs (min ms):');
  for (const [what, value, target] of ratios)
    lines.push(`${what.padEnd(48)} ${value === null ? 'n/a' : value.toFixed(3).padStart(7)}${target ? `   (target ${target})` : ''}`);
  return lines.join('\n');
}

/** One child for one job: resolves its rows [{ kind, L, medianMs, runs } | { kind, L, error }]. */
function runChild(job, runtime) {
  return new Promise((resolve) => {
    const child = fork(here, ['--child', JSON.stringify(job)], {
      ...(runtime ? { execPath: runtime.execPath, execArgv: runtime.execArgv } : { execArgv: ['--expose-gc'] }),
    });
    const rows = [];
    child.on('message', (m) => rows.push(m));
    child.on('exit', (code) => {
      if (code !== 0) rows.push({ kind: job.kinds[0].kind, L: 0, error: `child exited with ${code}` });
      resolve(rows);
    });
  });
}

/** mulberry32 normals (Box–Muller): the same inputs in every child. */
function normals(size, seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** In the child: times the job's kinds round-robin at each length and reports { kind, L, medianMs, runs } to the parent. */
async function child(job) {
  const T = await import('@heed/tensor');
  const SA = await import('@heed/soft-attention');
  await T.useWasmKernels({ threads: 1 });
  const scorerOf = {
    alibi: () => new SA.BiasedScorer(new SA.AlibiBias(HEADS)),
    softcap: () => new SA.SoftcapScorer(50),
  };
  for (const L of job.lengths) {
    const shape = [1, HEADS, L, HEAD_DIM]; // [B, H, L, d]
    const [q, k, v] = [1, 2, 3].map((s) => new T.Tensor(normals(HEADS * L * HEAD_DIM, L * 10 + s), shape));
    const kinds = job.kinds.filter(({ upTo }) => upTo === undefined || L <= upTo);
    const runs = kinds.map(({ kind }) =>
      kind === 'linear'
        ? () => SA.linearAttention(q, k, v)
        : () =>
            SA.attend({
              query: q,
              keys: k,
              values: v,
              needWeights: false,
              implementation: 'fused',
              ...(kind === 'causal' ? { causal: true } : {}),
              ...(kind === 'window' ? { keepRule: new SA.SlidingWindowRule(WINDOW) } : {}),
              ...(scorerOf[kind] ? { scorer: scorerOf[kind]() } : {}),
            }).context,
    );
    const times = kinds.map(() => []);
    for (const run of runs) T.noGrad(run); // warm-up
    for (let r = 0; r < job.runs; r++) {
      runs.forEach((run, index) => {
        globalThis.gc?.();
        const t0 = performance.now();
        T.noGrad(run);
        times[index].push(performance.now() - t0);
      });
    }
    for (const [index, { kind }] of kinds.entries()) {
      const sorted = [...times[index]].sort((a, b) => a - b);
      const m = sorted.length >> 1;
      const medianMs = sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
      await new Promise((resolve) => process.send({ kind, L, medianMs, minMs: sorted[0], runs: sorted.length }, resolve));
    }
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(JSON.parse(argv[1]));
else if (process.argv[1] === here)
  await runVariantRows({ mode: argv.includes('--quick') ? 'quick' : argv.includes('--full') ? 'full' : 'short' });
