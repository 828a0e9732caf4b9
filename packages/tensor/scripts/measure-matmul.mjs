// Throughput of the matmul and fused-attention kernels (forward and backward), WebAssembly SIMD vs plain
// JS, on this machine.
// Needs a build (pnpm build). Run: node scripts/measure-matmul.mjs [--quick] [--threads=2] [--wasm-only]
// (add --experimental-wasm-relaxed-simd before the script to measure the relaxed-SIMD build).
// Each figure is the median of several timed runs after warm-up, in wall-clock time and in this
// process's CPU time (user + system): on a shared machine the CPU time is the better estimate of what
// the kernel does on an idle core (with threads: CPU time summed over them), the wall clock of what a
// user waits.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Rng,
  Tensor,
  getKernels,
  linear,
  matmulKernelJs,
  mul,
  noGrad,
  plainKernels,
  randn,
  reshape,
  scaledDotProductAttention,
  sum,
  useJsKernels,
  useWasmKernels,
} from '../dist/index.js';

const quick = process.argv.includes('--quick');
const wasmOnly = process.argv.includes('--wasm-only');
const NOT_RUN = { median: NaN, cpu: NaN };
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 1);
const wasmOptions = { relaxedSimd: true, threads };
const REPS = quick ? 3 : 9;

function time(fn, reps = REPS) {
  for (let w = 0; w < 2; w++) fn(); // warm-up (and V8's tier-up from Liftoff to TurboFan)
  const wall = [];
  const cpu = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  const median = (t) => t.sort((a, b) => a - b)[t.length >> 1];
  return { median: median(wall), cpu: median(cpu) };
}
const gflops = (flops, ms) => (flops / ms / 1e6).toFixed(1);
const versus = (js, w) => (wasmOnly ? '' : `${(js.median / w.median).toFixed(1)}× JS (wall)`);
const fmt = (flops, { median, cpu }) =>
  `${gflops(flops, cpu).padStart(5)} GFLOP/s per CPU second, ${gflops(flops, median).padStart(5)} wall-clock (median ${median.toFixed(1)} ms)`;

/** The raw module of the same build (no copies in or out), to show what the copies cost. */
async function rawModule() {
  const source = readFileSync(fileURLToPath(new URL('../src/kernels/wasm/wasm-bytes.ts', import.meta.url)), 'utf8');
  const name = relaxed ? 'WASM_RELAXED_SIMD_BASE64' : 'WASM_SIMD_BASE64';
  const base64 = [
    ...source
      .split(`${name} =`)[1]
      .split(';')[0]
      .matchAll(/'([^']*)'/g),
  ]
    .map((x) => x[1])
    .join('');
  const { instance } = await WebAssembly.instantiate(Buffer.from(base64, 'base64'), {});
  return instance.exports;
}

const rng = new Rng(1);
const random = (size) => Float32Array.from({ length: size }, () => rng.normal());

const relaxed = process.execArgv.includes('--experimental-wasm-relaxed-simd') || Number(process.versions.node.split('.')[0]) >= 22;
const build = relaxed ? 'relaxed SIMD (FMA)' : 'plain SIMD-128';
const raw = await rawModule();
if (!(await useWasmKernels(wasmOptions))) throw new Error('WebAssembly SIMD unavailable');
const wasmMatmul = getKernels().matmul;
console.log(`node ${process.version}; WebAssembly build: ${build}; threads: ${threads}`);

console.log('\nmatmul  out[m, n] = op(A)·op(B)');
const shapes = [
  { m: 1024, n: 1024, k: 1024, tb: false, label: '1024×1024×1024' },
  { m: 1024, n: 1024, k: 64, tb: true, label: '1024×1024×64, transposeB (Q·Kᵀ)' },
  { m: 1024, n: 64, k: 1024, tb: false, label: '1024×64×1024 (P·V)' },
  { m: 1024, n: 512, k: 512, tb: true, label: '1024×512×512, transposeB (projection)' },
];
for (const { m, n, k, tb, label } of shapes) {
  const a = random(m * k);
  const b = random(k * n);
  const out = new Float32Array(m * n);
  const flops = 2 * m * n * k;
  const js = wasmOnly ? NOT_RUN : time(() => matmulKernelJs(a, 0, b, 0, out, 0, m, n, k, false, tb), quick ? 1 : 3);
  const w = time(() => wasmMatmul(a, 0, b, 0, out, 0, m, n, k, false, tb));
  // Raw: operands already in the module's memory.
  const base = raw.heapBase();
  const need = base + (m * k + k * n + m * n) * 4 + raw.matmulWorkBytes() + 4096;
  if (raw.memory.buffer.byteLength < need) raw.memory.grow(Math.ceil((need - raw.memory.buffer.byteLength) / 65536));
  const aAt = base;
  const bAt = aAt + Math.ceil((m * k * 4) / 64) * 64;
  const cAt = bAt + Math.ceil((k * n * 4) / 64) * 64;
  const wAt = cAt + Math.ceil((m * n * 4) / 64) * 64;
  new Float32Array(raw.memory.buffer).set(a, aAt / 4);
  new Float32Array(raw.memory.buffer).set(b, bAt / 4);
  const r = time(() => raw.matmul(aAt, bAt, cAt, m, n, k, 0, tb ? 1 : 0, 0, wAt));
  console.log(`  ${label}`);
  if (!wasmOnly) console.log(`    JS kernel            ${fmt(flops, js)}`);
  console.log(`    WASM kernel (seam)   ${fmt(flops, w)}   ${versus(js, w)}`);
  console.log(
    `    WASM, no copies      ${fmt(flops, r)}   (one thread) copies cost ${threads === 1 ? `${(100 * (w.cpu / r.cpu - 1)).toFixed(0)} %` : 'n/a'}`,
  );
}

console.log('\nfused attention forward: n = 8 heads, Lq = Lk = 1024, d = dv = 64 (4·n·L²·d flops)');
{
  const [n, L, d] = [8, 1024, 64];
  const q = randn([1, n, L, d], rng);
  const k = randn([1, n, L, d], rng);
  const v = randn([1, n, L, d], rng);
  const flops = 4 * n * L * L * d;
  for (const causal of [false, true]) {
    const f = causal ? flops / 2 : flops;
    useJsKernels();
    const js = wasmOnly ? NOT_RUN : time(() => noGrad(() => scaledDotProductAttention(q, k, v, { causal })), quick ? 1 : 3);
    await useWasmKernels(wasmOptions);
    const w = time(() => noGrad(() => scaledDotProductAttention(q, k, v, { causal })));
    console.log(`  ${causal ? 'causal (half the flops counted)' : 'full'}`);
    if (!wasmOnly) console.log(`    JS kernel            ${fmt(f, js)}`);
    console.log(`    WASM kernel          ${fmt(f, w)}   ${versus(js, w)}`);
  }
}

console.log('\nfused attention backward: n = 8 heads, Lq = Lk = 1024, d = dv = 64 (2.5 × 4·n·L²·d flops)');
{
  const [n, L, d] = [8, 1024, 64];
  const leaf = () => new Tensor(randn([1, n, L, d], rng).data, [1, n, L, d], true);
  const [q, k, v] = [leaf(), leaf(), leaf()];
  const g = randn([1, n, L, d], rng);
  const flops = 2.5 * 4 * n * L * L * d;
  for (const causal of [false, true]) {
    const f = causal ? flops / 2 : flops;
    // The forward runs once, outside the timer; each timed run is one backward pass through the op.
    const backward = (out) => () => {
      q.grad = k.grad = v.grad = null;
      out.backward(g);
    };
    useJsKernels();
    const js = wasmOnly ? NOT_RUN : time(backward(scaledDotProductAttention(q, k, v, { causal })), 1);
    await useWasmKernels(wasmOptions);
    const w = time(backward(scaledDotProductAttention(q, k, v, { causal })));
    console.log(`  ${causal ? 'causal (half the flops counted)' : 'full'}`);
    if (!wasmOnly) console.log(`    JS kernel            ${fmt(f, js)}`);
    console.log(`    WASM kernel          ${fmt(f, w)}   ${versus(js, w)}`);
  }
}

console.log('\nmulti-head self-attention: L = 1024, model dim 512, 8 heads (projections + fused attention, heads read in place)');
{
  const [L, D, H] = [1024, 512, 8];
  const x = randn([1, L, D], rng);
  const w = [0, 1, 2, 3].map(() => new Tensor(randn([D, D], rng).data, [D, D], true));
  const heads = (t) => reshape(t, [1, L, H, D / H]); // [1, L, D] -> [1, L, H, d]
  const layer = () => {
    const o = scaledDotProductAttention(heads(linear(x, w[0])), heads(linear(x, w[1])), heads(linear(x, w[2])), {
      layout: 'sequence-first',
    }); // [1, L, H, d]
    return linear(reshape(o, [1, L, D]), w[3]); // [1, L, D]
  };
  const forward = () => noGrad(layer);
  // A training step: the forward, then the weight gradients of Σ out ⊙ g (x needs none): the backward is
  // 5 products of 2·L·D² (4 weight gradients, one input gradient) and 2.5 × the attention.
  const g = randn([1, L, D], rng);
  const step = () => {
    for (const p of w) p.grad = null;
    sum(mul(layer(), g)).backward();
  };
  const flops = 4 * 2 * L * D * D + 4 * L * L * D;
  const stepFlops = 9 * 2 * L * D * D + 3.5 * 4 * L * L * D;
  useJsKernels();
  const js = wasmOnly ? NOT_RUN : time(forward, quick ? 1 : 3);
  const jsStep = wasmOnly ? NOT_RUN : time(step, 1);
  await useWasmKernels(wasmOptions);
  const wt = time(forward);
  const wtStep = time(step);
  console.log('  forward');
  if (!wasmOnly) console.log(`    JS kernels           ${fmt(flops, js)}`);
  console.log(`    WASM kernels         ${fmt(flops, wt)}   ${versus(js, wt)}`);
  console.log('  training step (forward + backward)');
  if (!wasmOnly) console.log(`    JS kernels           ${fmt(stepFlops, jsStep)}`);
  console.log(`    WASM kernels         ${fmt(stepFlops, wtStep)}   ${versus(jsStep, wtStep)}`);
}
useJsKernels();
if (getKernels().matmul !== plainKernels().matmul) throw new Error('useJsKernels did not restore the JS matmul');
