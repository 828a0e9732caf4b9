// The page the Chromium test loads (bundled by esbuild): a MultiHeadAttention training step on the browser's
// WebGPU and on the CPU, in the same page, from the same seed. Sets `window.heedResult`.
import { MultiHeadAttention } from '@heed/multi-head';
import { Adam, mseLoss, Rng, randn, toDevice } from '@heed/tensor';
import { requestGpuDevice, useWebGpu } from '../src/index';

async function step(device: 'cpu' | 'webgpu') {
  const rng = new Rng(5);
  const layer = await new MultiHeadAttention({ embedDim: 8, numHeads: 2, bias: false, rng }).toDevice(device);
  const x = await toDevice(randn([2, 5, 8], rng), device); // [B, L, E]
  const target = await toDevice(randn([2, 5, 8], rng), device);
  const optimizer = new Adam(layer.parameters(), { lr: 0.01 });
  const loss = mseLoss(layer.forward(x, x, x, { causal: true, needWeights: false }).output, target);
  loss.backward();
  optimizer.step();
  return {
    loss: Array.from(await loss.read()),
    parameters: Array.from(await layer.queryProjection.weight.read()),
    gradient: Array.from(await layer.queryProjection.weight.grad!.read()),
  };
}

async function run() {
  const { device, adapter } = await requestGpuDevice();
  useWebGpu(device);
  return { adapter: `${adapter.info.vendor} ${adapter.info.architecture}`, cpu: await step('cpu'), gpu: await step('webgpu') };
}

(globalThis as { heedResult?: Promise<unknown> }).heedResult = run().catch((error: unknown) => ({ error: String(error) }));
