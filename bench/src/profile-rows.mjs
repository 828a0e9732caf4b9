// The profile of `pnpm bench` (the CPU-performance issue asks the bench to print what explains its ratios and
// what limits them): one MultiHeadAttention(512, 8) forward at L = 1024, batch 1, heed's WebAssembly kernels on one
// thread, in a child under the bench's runtime (--node). Every kernel of the active set is wrapped to time its
// calls (`setKernels`), so each forward splits into the time inside each kernel (the WASM kernels copy their
// operands into WebAssembly memory and the result out: that is inside) and the time outside any kernel (fresh
// output arrays, input checks, views). Beside it, the process's system time and minor page faults per forward
// (first touch of fresh memory), and the rates of the two big parts: the projections' GEMM and the fused attention.
// Run alone: `node --expose-gc src/profile-rows.mjs` inside bench/.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HEADS, MODEL_DIM } from './problem.mjs';

const here = fileURLToPath(import.meta.url);
const LENGTH = 1024;
const RUNS = 7;

/** Runs the profile under `runtime` (main.mjs's children's Node; default this Node), prints it, returns it (or { error }). */
export async function runProfile({ runtime = null } = {}) {
  const profile = await new Promise((resolve) => {
    const child = fork(here, ['--child'], {
      ...(runtime ? { execPath: runtime.execPath, execArgv: runtime.execArgv } : { execArgv: ['--expose-gc'] }),
    });
    let result = null;
    child.on('message', (m) => {
      result = m;
    });
    child.on('exit', (code) => resolve(result ?? { error: `child exited with ${code}` }));
  });
  console.log(formatProfile(profile));
  return profile;
}

/** The profile as printed lines. */
export function formatProfile(p) {
  const title = `\nprofile: MultiHeadAttention(${MODEL_DIM}, ${HEADS}) forward, L = ${LENGTH}, batch 1, heed WASM 1 thread`;
  if (p.error) return `${title}: failed (${p.error})`;
  const pct = (ms) => `${((100 * ms) / p.totalMs).toFixed(1)} %`.padStart(7);
  const lines = [`${title} (${p.build}; medians of ${p.runs} forwards)`];
  lines.push(
    `  total                       ${p.totalMs.toFixed(1).padStart(8)} ms  (CPU ${p.cpuMs.toFixed(1)} ms, of it system ${p.systemMs.toFixed(1)} ms)`,
  );
  for (const [name, ms] of Object.entries(p.kernels).sort((a, b) => b[1] - a[1]))
    lines.push(`  kernel ${name.padEnd(20)} ${ms.toFixed(1).padStart(8)} ms ${pct(ms)}  (${p.calls[name]} calls)`);
  lines.push(`  outside the kernels         ${p.outsideMs.toFixed(1).padStart(8)} ms ${pct(p.outsideMs)}  (fresh arrays, checks, views)`);
  lines.push('what limits it:');
  lines.push(
    `  projections: ${p.projectionGflops.toFixed(1)} GFLOP/s over the four products (matmul kernel: its copies in and out of WASM memory included)`,
  );
  lines.push(`  fused attention: ${p.attentionGflops.toFixed(1)} GFLOP/s (Q·Kᵀ and P·V, the softmax in between)`);
  lines.push(
    `  fresh memory: ${p.pageFaults} minor page faults per forward (${((p.pageFaults * 4) / 1024).toFixed(1)} MiB first touched), ${p.systemMs.toFixed(1)} ms of system time`,
  );
  lines.push(
    '  ceiling: a register-only SIMD-128 loop ran at 44–47 GFLOP/s (separate multiply and add, Node 20) and 56–57 (relaxed FMA, Node 24) on a 2-core AMD EPYC VM on 2026-12-01; native AVX-512 FMA has four times the lanes',
  );
  return lines.join('\n');
}

/** In the child: the profile, sent to the parent. */
async function child() {
  const T = await import('@heed/tensor');
  const { MultiHeadAttention } = await import('@heed/multi-head');
  const info = await T.useWasmKernels({ threads: 1 });
  const spent = new Map();
  const calls = new Map();
  const wrapped = {};
  for (const [name, kernel] of Object.entries(T.getKernels())) {
    if (typeof kernel !== 'function') continue;
    wrapped[name] = (...args) => {
      const t0 = performance.now();
      try {
        return kernel(...args);
      } finally {
        spent.set(name, (spent.get(name) ?? 0) + performance.now() - t0);
        calls.set(name, (calls.get(name) ?? 0) + 1);
      }
    };
  }
  T.setKernels(wrapped);
  const layer = new MultiHeadAttention({ embedDim: MODEL_DIM, numHeads: HEADS, rng: new T.Rng(1) });
  layer.eval();
  const x = T.randn([1, LENGTH, MODEL_DIM], new T.Rng(2)); // [B, L, E]
  const forward = () => T.noGrad(() => layer.forward(x, x, x, { needWeights: false }).output);
  forward(); // warm-up: compiles, grows WASM memory
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    globalThis.gc?.();
    spent.clear();
    calls.clear();
    const faults0 = process.resourceUsage().minorPageFault;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    forward();
    const totalMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    runs.push({
      totalMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      systemMs: cpu.system / 1000,
      pageFaults: process.resourceUsage().minorPageFault - faults0,
      kernels: Object.fromEntries(spent),
      calls: Object.fromEntries(calls),
    });
  }
  const med = (f) => median(runs.map(f));
  const names = Object.keys(runs[0].kernels);
  const kernels = Object.fromEntries(names.map((n) => [n, med((r) => r.kernels[n] ?? 0)]));
  const totalMs = med((r) => r.totalMs);
  const inside = Object.values(kernels).reduce((a, b) => a + b, 0);
  const E = MODEL_DIM;
  const projectionFlops = 4 * 2 * LENGTH * E * E;
  const attentionFlops = 2 * 2 * LENGTH * LENGTH * E; // Q·Kᵀ and P·V over the heads
  process.send({
    build: `${info.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD-128'}, ${process.version}`,
    runs: RUNS,
    totalMs,
    cpuMs: med((r) => r.cpuMs),
    systemMs: med((r) => r.systemMs),
    pageFaults: med((r) => r.pageFaults),
    kernels,
    calls: runs[0].calls,
    outsideMs: Math.max(0, totalMs - inside),
    projectionGflops: kernels.matmul ? projectionFlops / (kernels.matmul * 1e6) : 0,
    attentionGflops: kernels.attentionForward ? attentionFlops / (kernels.attentionForward * 1e6) : 0,
  });
}

/** The median of a list of numbers. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

if (process.argv[2] === '--child') await child();
else if (process.argv[1] === here) await runProfile();
