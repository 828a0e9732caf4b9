// The WebGPU backend the tests run on: one device per test worker, registered as 'webgpu'.
import { Rng, randn, type Tensor, toDevice } from '@heed/tensor';
import { requestGpuDevice } from '../src/request-gpu-device';
import { useWebGpu } from '../src/use-webgpu';
import type { WebGpuBackend } from '../src/webgpu-backend';
import { testGpu } from './test-gpu';

let backend: Promise<WebGpuBackend> | null = null;

/** The 'webgpu' backend on the software adapter (registered once per worker). */
export function testBackend(): Promise<WebGpuBackend> {
  backend ??= requestGpuDevice({ gpu: testGpu() }).then(({ device }) => useWebGpu(device));
  return backend;
}

/** A CPU tensor of normal values and its copy on the GPU (both leaves, requiring gradients when asked). */
export async function pair(shape: readonly number[], rng: Rng, requiresGrad = false): Promise<[Tensor, Tensor]> {
  const cpu = randn(shape, rng, { requiresGrad });
  return [cpu, await toDevice(cpu, 'webgpu')];
}

export { Rng };
