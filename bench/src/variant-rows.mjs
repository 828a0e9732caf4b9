// The attention-variant rows of `pnpm bench` (issue #12), heed only, on its WebAssembly kernels (1 thread):
//   - a causal sliding window W = 256 at L = 1024, 4096, 16384 against full causal attention: the fused
//     kernels skip the key tiles outside the window, so time(16384) / time(4096) should be ≈ 4 (target ≤ 4.5)
//     and window / full causal at 4096 ≈ W / (L/2) (target ≤ 0.25);
//   - ALiBi and the Gemma-2 soft-cap on the fused path against plain scaled-dot fused (target ≤ 1.15×);
//   - linear attention (elu + 1, O(L·d²)) against softmax attention (fused, O(L²·d)) at L = 1024 … 16384.
// Each kind of row runs in its own child process (`node variant-rows.mjs --child <job>`), forward only, H = 8
// heads of d = 64 (the bench's MHA shape), inputs N(0, 1) from a fixed seed. Each run is timed by the wall
// clock and by the process's CPU time (user + system: on a shared machine the CPU time moves far less);
// the targets are checked by variant-targets.mjs.
// Run alone: `node --expose-gc src/variant-rows.mjs [--quick | --full]` inside bench/.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HEAD_DIM, HEADS } from './problem.mjs';
import { checkVariantTargets, formatVariantTargets } from './variant-targets.mjs';

const WINDOW = 256;
const here = fileURLToPath(import.meta.url);

/**
 * Lengths and runs per mode: at each length the kinds are timed in rounds, at least `minRuns` and at most
 * `runs` of them, stopping once the length's rounds have taken `budgetMs` (so that softmax attention at
 * L = 16384, seconds a run, takes `minRuns` runs while the short rows take `runs`).
 */
const MODES = {
  quick: { window: [1024, 4096, 16384], biased: [1024], linear: [1024, 4096], runs: 5, minRuns: 2, budgetMs: 10_000 },
  short: { window: [1024, 4096, 16384], biased: [1024, 4096], linear: [1024, 4096, 16384], runs: 5, minRuns: 2, budgetMs: 20_000 },
  full: {
    window: [1024, 4096, 16384],
    biased: [1024, 4096],
    linear: [1024, 2048, 4096, 8192, 16384],
    runs: 7,
    minRuns: 3,
    budgetMs: 40_000,
  },
};
/** A kind is warmed up (one untimed run) at a length when the run should take less than this; longer ones are warm anyway. */
const WARM_UP_LIMIT_MS = 3000;

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
  ].map((job) => ({ ...job, runs: m.runs, minRuns: m.minRuns, budgetMs: m.budgetMs }));
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
 * this Node), prints their table and the checks of the targets (variant-targets.mjs), and returns { rows, targets }.
 */
export async function runVariantRows({ mode = 'short', runtime = null } = {}) {
  const rows = [];
  for (const job of jobsOf(mode)) for (const row of await runChild(job, runtime)) rows.push({ label: LABELS[row.kind], ...row });
  const targets = checkVariantTargets(rows);
  console.log(formatVariantTable(rows));
  console.log(formatVariantTargets(targets));
  return { rows, targets };
}

function formatVariantTable(rows) {
  const lines = [`\nattention variants (heed, WebAssembly kernels, 1 thread; B = 1, H = ${HEADS}, d = ${HEAD_DIM}, forward)`];
  const columns = ['median ms', 'min ms', 'min CPU ms', 'system ms', 'faults'];
  lines.push(`${'row'.padEnd(46)} ${'L'.padStart(6)} ${'runs'.padStart(5)} ${columns.map((c) => c.padStart(10)).join(' ')}`);
  for (const r of rows) {
    const cells =
      r.medianMs !== undefined
        ? [...[r.medianMs, r.minMs, r.cpuMinMs, r.systemMedianMs].map((x) => x.toFixed(1)), String(r.pageFaults)]
        : [r.error ?? 'failed', '', '', '', ''];
    lines.push(
      `${(r.label ?? r.kind).padEnd(46)} ${String(r.L).padStart(6)} ${String(r.runs ?? 0).padStart(5)} ${cells.map((c) => c.padStart(10)).join(' ')}`,
    );
  }
  lines.push(
    '(CPU ms: user + system time of the run; system ms and faults: medians of its system part and of its page faults, 4 KiB each, on memory new to the process)\n',
  );
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

/**
 * In the child: times the job's kinds round-robin at each length and reports { kind, L, medianMs, minMs, cpuMedianMs,
 * cpuMinMs, systemMedianMs, pageFaults, runs } to the parent (wall and CPU times in ms, minor page faults per run).
 */
async function child(job) {
  const T = await import('@heed/tensor');
  const SA = await import('@heed/soft-attention');
  await T.useWasmKernels({ threads: 1 });
  const scorerOf = {
    alibi: () => new SA.BiasedScorer(new SA.AlibiBias(HEADS)),
    softcap: () => new SA.SoftcapScorer(50),
  };
  const lastMs = new Map(); // kind -> { L, ms }: its fastest run at the last length
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
    const times = kinds.map(() => ({ wall: [], cpu: [], system: [], faults: [] }));
    // Warm-up, where the run is short enough: the first length always; later ones from the last one's time, × (L / L')².
    runs.forEach((run, index) => {
      const last = lastMs.get(kinds[index].kind);
      if (last === undefined || last.ms * (L / last.L) ** 2 < WARM_UP_LIMIT_MS) T.noGrad(run);
    });
    const started = performance.now();
    for (let r = 0; r < job.runs && (r < job.minRuns || performance.now() - started < job.budgetMs); r++) {
      runs.forEach((run, index) => {
        globalThis.gc?.();
        const faults0 = process.resourceUsage().minorPageFault;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        T.noGrad(run);
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        times[index].faults.push(process.resourceUsage().minorPageFault - faults0);
        times[index].wall.push(wall);
        times[index].cpu.push((cpu.user + cpu.system) / 1000);
        times[index].system.push(cpu.system / 1000);
      });
    }
    for (const [index, { kind }] of kinds.entries()) {
      const { wall, cpu, system, faults } = times[index];
      const [minMs, cpuMinMs] = [Math.min(...wall), Math.min(...cpu)];
      lastMs.set(kind, { L, ms: minMs });
      const row = {
        kind,
        L,
        medianMs: median(wall),
        minMs,
        cpuMedianMs: median(cpu),
        cpuMinMs,
        systemMedianMs: median(system),
        pageFaults: median(faults),
        runs: wall.length,
      };
      await new Promise((resolve) => process.send(row, resolve));
    }
  }
}

/** The median of a list of numbers. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(JSON.parse(argv[1]));
else if (process.argv[1] === here)
  await runVariantRows({ mode: argv.includes('--quick') ? 'quick' : argv.includes('--full') ? 'full' : 'short' });
