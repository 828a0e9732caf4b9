// Throughput of MultiHeadAttention (self-attention, model dim 512, 8 heads, batch 1) on the WebAssembly
// kernels: the forward (inside noGrad, needWeights: false) and one training step (forward, then the
// gradients of Σ output ⊙ g for every weight). Needs a build (pnpm build in packages/tensor,
// soft-attention and multi-head). Run: node scripts/measure-multi-head.mjs [--threads=2] [--lengths=512,1024] [--reps=9] [--js]
// Each figure is the median of timed runs after warm-up, in wall-clock time and in this process's CPU time
// (user + system, summed over threads): on a shared machine the CPU time is the steadier of the two.
// FLOPs: forward 4·2·L·E² + 4·L²·E. The training step's backward (the input does not require a gradient,
// as in bench/) is 5·2·L·E² for the projections (4 weight gradients, the output projection's input
// gradient) and 2.5 × 4·L²·E for the attention.
import { noGrad, randn, Rng, useJsKernels, useWasmKernels } from '@heed/tensor';
import { MultiHeadAttention } from '../dist/index.js';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const threads = Number(arg('threads', '1'));
const lengths = arg('lengths', '512,1024').split(',').map(Number);
const REPS = Number(arg('reps', '9'));
const js = process.argv.includes('--js');
const [E, H] = [512, 8];

function time(fn, reps = REPS) {
  for (let w = 0; w < 2; w++) fn();
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
  return { wall: median(wall), cpu: median(cpu) };
}
const line = (label, flops, { wall, cpu }) =>
  console.log(
    `  ${label.padEnd(28)} ${(flops / cpu / 1e6).toFixed(1).padStart(5)} GFLOP/s per CPU second, ${(flops / wall / 1e6).toFixed(1).padStart(5)} wall-clock (median ${wall.toFixed(1)} ms)`,
  );

if (js) useJsKernels();
else if (!(await useWasmKernels({ threads }))) throw new Error('WebAssembly SIMD unavailable');
console.log(`node ${process.version}; ${js ? 'JS kernels' : `WebAssembly kernels, threads: ${threads}`}; E = ${E}, H = ${H}`);
const rng = new Rng(1);
const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, rng });
layer.eval();
for (const L of lengths) {
  const x = randn([1, L, E], rng); // [1, L, E]
  const g = randn([1, L, E], rng); // [1, L, E]
  const projections = 8 * L * E * E;
  const attention = 4 * L * L * E;
  line(
    `forward L=${L}`,
    projections + attention,
    time(() => noGrad(() => layer.forward(x, x, x, { needWeights: false }))),
  );
  const step = () => {
    for (const p of layer.parameters()) p.grad = null;
    layer.forward(x, x, x, { needWeights: false }).output.backward(g);
  };
  line(`training step L=${L}`, (9 / 4) * projections + 3.5 * attention, time(step, Math.max(3, REPS >> 1)));
}
