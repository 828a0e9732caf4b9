// The page of the browser route (src/browser-route.test.ts): in headless Chromium, WebGPU on SwiftShader runs the
// backend's ops, the fused attention forward and backward, and a MultiHeadAttention training step; the same
// computations run in the same page on the CPU (@heed/tensor's JS kernels), and the PyTorch fixtures run on WebGPU
// against PyTorch's numbers (../fixture-checks.ts, shared with the Node route); the page returns how far apart they are
// (../compare.ts). Bundled by esbuild from this file: the @heed/* packages from their dist, @heed/webgpu from its source,
// the fixtures' JSON inlined.
import { MultiHeadAttention } from '@heed/multi-head';
import {
  Adam,
  activeKernelSet,
  crossEntropy,
  Linear,
  matmul,
  max,
  mseLoss,
  Rng,
  randn,
  reshape,
  scaledDotProductAttentionWithLogSumExp,
  softmax,
  sum,
  type Tensor,
  toDevice,
} from '@heed/tensor';
import { requestGpuDevice, useWebGpu } from '../../src/index';
import { compare } from '../compare';
import { FixtureChecks } from '../fixture-checks';
import { normalizerFixtureChecks } from './normalizer-fixture-checks';
import { ROUTE_ENTRY, type RouteAdapter, type RouteCheck, type RouteResult } from './route-result';

const checks: RouteCheck[] = [];
const gpuDevices = new Set<string>();

/** Compares a tensor on the GPU with its CPU counterpart (an awaited read of the GPU one). */
async function check(name: string, gpu: Tensor, cpu: Tensor): Promise<void> {
  gpuDevices.add(gpu.device);
  checks.push(compare(name, await gpu.read(), gpu.shape, cpu.data, cpu.shape));
}

/** A CPU tensor of normal values and its copy on the GPU (leaves, requiring gradients when asked). */
async function pair(shape: readonly number[], rng: Rng, requiresGrad = false): Promise<[Tensor, Tensor]> {
  const cpu = randn(shape, rng, { requiresGrad });
  return [cpu, await toDevice(cpu, 'webgpu')];
}

/** Matrix products (plain, transposed, a broadcast batch), softmax and reductions, at sizes no tile divides. */
async function ops(): Promise<void> {
  const rng = new Rng(1);
  const [a, ga] = await pair([2, 67, 33], rng); // [B, M, K]
  const [b, gb] = await pair([33, 65], rng); // [K, N]
  await check('matmul [2,67,33]·[33,65]', matmul(ga, gb), matmul(a, b)); // [B, M, N]
  const [c, gc] = await pair([65, 33], rng); // [N, K]
  await check('matmul [2,67,33]·[65,33]ᵀ', matmul(ga, gc, { transposeB: true }), matmul(a, c, { transposeB: true })); // [B, M, N]
  const [x, gx] = await pair([3, 301, 5], rng); // [A, N, C]
  await check('softmax [3,301,5] axis 1', softmax(gx, 1), softmax(x, 1)); // [A, N, C]
  await check('softmax [3,301,5] axis -1', softmax(gx), softmax(x)); // [A, N, C]
  await check('sum [3,301,5] axis 1', sum(gx, 1), sum(x, 1)); // [A, C]
  await check('sum [3,301,5] all', sum(gx), sum(x)); // []
  await check('max [3,301,5] axes 0,2', max(gx, [0, 2]), max(x, [0, 2])); // [N]
}

/** The fused attention forward and backward: causal (bottom-right aligned), GQA 4 query heads on 2 key/value heads. */
async function attention(): Promise<void> {
  const rng = new Rng(2);
  const [[q, gq], [k, gk], [v, gv]] = [
    await pair([2, 4, 37, 16], rng, true), // [B, H, Lq, D]
    await pair([2, 2, 45, 16], rng, true), // [B, Hkv, Lk, D]
    await pair([2, 2, 45, 12], rng, true), // [B, Hkv, Lk, Dv]
  ];
  const options = { causal: { offset: 45 - 37 }, groupSize: 2 }; // query i sees keys 0 … i + 8
  const cpu = scaledDotProductAttentionWithLogSumExp(q, k, v, options);
  const gpu = scaledDotProductAttentionWithLogSumExp(gq, gk, gv, options);
  await check('attention output', gpu.output, cpu.output); // [B, H, Lq, Dv]
  await check('attention logSumExp', gpu.logSumExp, cpu.logSumExp); // [B, H, Lq]
  const dOut = randn(cpu.output.shape, rng); // [B, H, Lq, Dv]
  cpu.output.backward(dOut);
  gpu.output.backward(await toDevice(dOut, 'webgpu'));
  await check('attention dq', gq.grad!, q.grad!);
  await check('attention dk', gk.grad!, k.grad!);
  await check('attention dv', gv.grad!, v.grad!);
}

/** Two Adam steps of MultiHeadAttention (GQA, causal) and a classifier head on `device`, from the same seed. */
async function trainingSteps(device: 'cpu' | 'webgpu') {
  const rng = new Rng(3);
  // No projection biases: the key bias's gradient is exactly 0 in exact arithmetic (softmax ignores a shift shared
  // by every key), so both devices' values there are rounding noise, which Adam's m / √v scales up to ±lr.
  const layer = new MultiHeadAttention({ embedDim: 32, numHeads: 4, numKeyValueHeads: 2, bias: false, rng });
  const head = new Linear(32, 7, { rng });
  const x = randn([2, 19, 32], rng); // [B, L, E]
  const target = randn([2, 19, 32], rng); // [B, L, E]
  const classes = Array.from({ length: 2 * 19 }, (_, i) => (i * 5) % 7);
  await layer.toDevice(device);
  await head.toDevice(device);
  const [input, wanted] = [await toDevice(x, device), await toDevice(target, device)];
  const parameters = [...layer.parameters(), ...head.parameters()];
  const optimizer = new Adam(parameters, { lr: 0.01 });
  const losses: Tensor[] = [];
  for (let step = 0; step < 2; step++) {
    optimizer.zeroGrad();
    const { output } = layer.forward(input, input, input, { causal: true, needWeights: false }); // [B, L, E]
    const logits = reshape(head.forward(output), [2 * 19, 7]); // [B·L, classes]
    const loss = mseLoss(output, wanted).add(crossEntropy(logits, classes)); // []
    loss.backward();
    optimizer.step();
    losses.push(loss);
  }
  return { losses, parameters };
}

async function training(): Promise<void> {
  const cpu = await trainingSteps('cpu');
  const gpu = await trainingSteps('webgpu');
  for (const [step, loss] of gpu.losses.entries()) await check(`training loss, step ${step + 1}`, loss, cpu.losses[step]!);
  for (const [i, parameter] of gpu.parameters.entries()) {
    await check(`training gradient ${i} ${parameter.shape.join('×')}`, parameter.grad!, cpu.parameters[i]!.grad!);
    await check(`training parameter ${i} after 2 steps`, parameter, cpu.parameters[i]!);
  }
}

async function run(): Promise<RouteResult> {
  const started = performance.now();
  const { device, adapter, features } = await requestGpuDevice({ optionalFeatures: ['subgroups', 'timestamp-query', 'shader-f16'] });
  const uncapturedErrors: string[] = [];
  device.addEventListener('uncapturederror', (event) => uncapturedErrors.push((event as GPUUncapturedErrorEvent).error.message));
  useWebGpu(device);
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean };
  const adapterReport: RouteAdapter = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? null,
    subgroupMinSize: info.subgroupMinSize ?? null,
    subgroupMaxSize: info.subgroupMaxSize ?? null,
    features: [...adapter.features].sort(),
    deviceFeatures: [...features].sort(),
  };
  await ops();
  await attention();
  await training();
  const fixtures = new FixtureChecks();
  await fixtures.runAll();
  checks.push(...fixtures.checks);
  for (const device of fixtures.devices) gpuDevices.add(device);
  const normalizers = await normalizerFixtureChecks();
  checks.push(...normalizers.checks);
  for (const device of normalizers.devices) gpuDevices.add(device);
  await device.queue.onSubmittedWorkDone(); // errors of the last submissions reach the handler first
  return {
    userAgent: navigator.userAgent,
    adapter: adapterReport,
    cpuKernelSet: activeKernelSet(),
    gpuDevices: [...gpuDevices],
    checks,
    refusals: fixtures.refusals,
    uncapturedErrors,
    milliseconds: performance.now() - started,
  };
}

(globalThis as Record<string, unknown>)[ROUTE_ENTRY] = run;
